"""Helpers shared by the figure tests (R2): bundled datasets, rendered-file checks, texts.

- :func:`bundled` derives the bundled study's analysis datasets once per process.
- :func:`check_png` / :func:`check_svg` check a rendered file (signature, size, XML).
- :func:`drawn_texts` lists the strings a matplotlib figure actually draws (tick
  labels outside the view are left out), so a test can check that a number the
  figure prints is the number computed from the data.
- :func:`text_problems` finds texts outside the canvas and texts that overlap.
"""

from __future__ import annotations

import functools
import struct
import xml.etree.ElementTree as ET
from dataclasses import replace

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from saatrial.derive import AnalysisDatasets, derive_all
from saatrial.report.figures.style import figure_style
from saatrial.study import StudyData, load_bundled_study

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@functools.cache
def bundled() -> tuple[StudyData, AnalysisDatasets]:
    """The bundled study and its derived datasets (computed once)."""
    study = load_bundled_study()
    return study, derive_all(study)


def with_frames(ads: AnalysisDatasets, **frames: pd.DataFrame) -> AnalysisDatasets:
    """A copy of ``ads`` with some datasets replaced (keyword = dataset name)."""
    return replace(ads, **frames)


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels from the PNG IHDR chunk."""
    assert png[:8] == PNG_SIGNATURE, "not a PNG"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def check_png(png: bytes, min_width: int = 800, min_height: int = 400) -> tuple[int, int]:
    """Assert a PNG signature, an IEND chunk and a readable size; return the size."""
    width, height = png_size(png)
    assert png.endswith(b"IEND\xaeB`\x82"), "PNG is truncated"
    assert width >= min_width and height >= min_height, (width, height)
    assert width <= 3000 and height <= 3000, (width, height)
    return width, height


def check_svg(svg: str) -> ET.Element:
    """Assert the SVG parses as XML with an <svg> root and no date; return the root."""
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag.endswith("svg"), root.tag
    assert "<dc:date>" not in svg
    return root


def _hidden_tick_labels(fig: Figure) -> set[int]:
    hidden: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            eps = 1e-9 * max(1.0, abs(hi - lo))
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - eps <= tick.get_loc() <= hi + eps:
                    hidden.update({id(tick.label1), id(tick.label2)})
    return hidden


def _drawn(fig: Figure) -> list[Text]:
    FigureCanvasAgg(fig)
    with figure_style():
        fig.canvas.draw()
    hidden = _hidden_tick_labels(fig)
    out = []
    for text in fig.findobj(Text):
        if id(text) in hidden or not text.get_visible() or not text.get_text().strip():
            continue
        axes = text.axes
        if axes is not None and not axes.get_visible():
            continue
        out.append(text)
    return out


def drawn_texts(fig: Figure) -> list[str]:
    """Every non-empty string the figure draws (titles, labels, ticks, legends, annotations)."""
    return [t.get_text() for t in _drawn(fig)]


def text_problems(fig: Figure) -> list[str]:
    """Texts (partly) outside the canvas, and pairs of texts whose boxes overlap."""
    texts = _drawn(fig)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    canvas = fig.bbox
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    problems = []
    for text, box in boxes:
        if (
            box.x0 < canvas.x0 - 0.5
            or box.y0 < canvas.y0 - 0.5
            or box.x1 > canvas.x1 + 0.5
            or box.y1 > canvas.y1 + 0.5
        ):
            problems.append(f"outside the canvas: {text!r}")
    for i, (text_a, a) in enumerate(boxes):
        for text_b, b in boxes[i + 1 :]:
            if a.overlaps(b):
                problems.append(f"overlap: {text_a!r} / {text_b!r}")
    return problems
