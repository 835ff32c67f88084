"""The look shared by every report figure: palette, arm order, fonts, byte-stable rendering.

Colours are the Okabe-Ito palette (safe for the common colour-vision
deficiencies); each arm also gets its own line style and marker so that the
figures read in greyscale. An arm keeps its colour in every figure:
:func:`arm_styles` assigns colours by arm *code*, never by position in one
figure's data.

Figures are drawn on :class:`matplotlib.figure.Figure` objects (no pyplot
state, Agg renderer) inside :func:`figure_style`, and rendered by
:func:`render` with fixed SVG ids and no dates in the metadata, so the same
data give the same bytes on every run.

References
----------
.. [1] Okabe M, Ito K. Color Universal Design (CUD): how to make figures and
   presentations that are friendly to colorblind people. J*FLY, 2008.
   https://jfly.uni-koeln.de/color/
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, cast

import matplotlib as mpl
from matplotlib.figure import Figure

from saatrial.stats.describe import format_number

__all__ = [
    "ARM_PALETTE",
    "DAYS_PER_MONTH",
    "INK",
    "MUTED",
    "OKABE_ITO",
    "PNG_DPI",
    "RESPONSE_STYLE",
    "ArmStyle",
    "arm_order",
    "arm_styles",
    "figure_style",
    "format_p",
    "render",
    "visit_label",
]

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
#: Text and axis colour; a near-black that prints well.
INK = "#222222"
#: Secondary text (captions inside axes, "no data" messages).
MUTED = "#666666"
#: Fixed colours for the arm codes of the published trial; other arms take the
#: remaining colours of :data:`ARM_PALETTE` in sorted-code order.
_FIXED_ARM_COLOURS = {"MSC": OKABE_ITO["vermillion"], "CONTROL": OKABE_ITO["blue"]}
ARM_PALETTE = (
    OKABE_ITO["vermillion"],
    OKABE_ITO["blue"],
    OKABE_ITO["green"],
    OKABE_ITO["purple"],
    OKABE_ITO["orange"],
    OKABE_ITO["sky_blue"],
)
LineStyle = Literal["-", "--", "-.", ":"]
_LINESTYLES: tuple[LineStyle, ...] = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P")
#: Arm codes drawn last (the comparator goes after the experimental arms).
_COMPARATOR_CODES = ("CONTROL", "PLACEBO", "SOC", "STANDARD")

#: Response categories: face colour, edge colour, marker and legend text.
RESPONSE_STYLE: dict[str, dict[str, str]] = {
    "CR": {"face": OKABE_ITO["green"], "edge": INK, "marker": "o", "label": "complete response"},
    "PR": {"face": OKABE_ITO["yellow"], "edge": INK, "marker": "o", "label": "partial response"},
    "NR": {"face": "#FFFFFF", "edge": INK, "marker": "o", "label": "no response"},
    "NE": {"face": "#BBBBBB", "edge": "#BBBBBB", "marker": "o", "label": "not evaluable"},
}

#: PNG resolution (ReportFigure: 150-200 dpi).
PNG_DPI = 150
#: TRIAL.md 5: months = days / 30.4375.
DAYS_PER_MONTH = 30.4375

_RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10.0,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": INK,
    "ytick.color": INK,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "legend.fontsize": 9.0,
    "legend.frameon": False,
    "text.color": INK,
    "lines.solid_capstyle": "butt",
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "svg.fonttype": "path",  # glyphs as paths: the SVG looks the same without the font
    "svg.hashsalt": "saatrial-report",  # fixed ids -> byte-stable SVG (render() salts per key)
    "path.simplify": True,
}


@dataclass(frozen=True)
class ArmStyle:
    """How one arm is drawn in every figure.

    Attributes
    ----------
    code : str
        Arm code (ADaM ``ARMCD``).
    label : str
        Arm label as printed (ADaM ``ARM`` / ``TRTP``).
    colour : str
        Hex colour (Okabe-Ito).
    linestyle : str
        Matplotlib line style (solid for the first arm, dashed for the second, ...).
    marker : str
        Matplotlib marker.
    """

    code: str
    label: str
    colour: str
    linestyle: LineStyle
    marker: str


def arm_order(codes: Sequence[Any]) -> list[str]:
    """Arm codes in drawing order: sorted, comparator arms (e.g. ``CONTROL``) last.

    Missing codes (``None``/NA) are dropped.

    Examples
    --------
    >>> arm_order(["CONTROL", "MSC", "MSC", None])
    ['MSC', 'CONTROL']
    >>> arm_order(["B", "A"])
    ['A', 'B']
    """
    present = sorted({str(c) for c in codes if isinstance(c, str) and c})
    return [c for c in present if c.upper() not in _COMPARATOR_CODES] + [
        c for c in present if c.upper() in _COMPARATOR_CODES
    ]


def arm_styles(labels: dict[str, str]) -> dict[str, ArmStyle]:
    """Style of each arm, keyed by arm code, in :func:`arm_order` order.

    Parameters
    ----------
    labels : dict
        Arm code -> arm label.

    Returns
    -------
    dict of str to ArmStyle

    Examples
    --------
    >>> s = arm_styles({"CONTROL": "IST alone", "MSC": "UC-MSC + IST"})
    >>> [(a.code, a.colour, a.linestyle) for a in s.values()]
    [('MSC', '#D55E00', '-'), ('CONTROL', '#0072B2', '--')]
    """
    order = arm_order(list(labels))
    free = [c for c in ARM_PALETTE if c not in {_FIXED_ARM_COLOURS.get(k) for k in order}]
    styles: dict[str, ArmStyle] = {}
    for i, code in enumerate(order):
        colour = _FIXED_ARM_COLOURS.get(code.upper())
        if colour is None:
            colour = free.pop(0) if free else ARM_PALETTE[i % len(ARM_PALETTE)]
        styles[code] = ArmStyle(
            code=code,
            label=labels[code],
            colour=colour,
            linestyle=_LINESTYLES[i % len(_LINESTYLES)],
            marker=_MARKERS[i % len(_MARKERS)],
        )
    return styles


def format_p(p: float | None) -> str | None:
    """A p-value as printed in the figures: three decimals, ``< 0.001`` below that.

    Returns ``None`` when there is no p-value to print (``None`` or NaN).

    Examples
    --------
    >>> format_p(0.153), format_p(0.0004), format_p(1.0), format_p(None)
    ('p = 0.153', 'p < 0.001', 'p = 1.000', None)
    """
    if p is None:
        return None
    value = float(p)
    if math.isnan(value):
        return None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"p-value: must be in [0, 1]: {p!r}")
    if value < 0.001:
        return "p < 0.001"
    return f"p = {format_number(value, 3)}"  # half away from zero on the decimal, as read


def visit_label(code: str) -> str:
    """Printed name of a visit code.

    Examples
    --------
    >>> visit_label("BASELINE"), visit_label("D40"), visit_label("W2")
    ('Baseline', 'Day 40', 'W2')
    """
    if code.upper() == "BASELINE":
        return "Baseline"
    m = re.fullmatch(r"D(\d+)", code)
    return f"Day {m.group(1)}" if m else code


@contextmanager
def figure_style() -> Iterator[None]:
    """Context in which figures are created, drawn and rendered (fonts, sizes, SVG ids)."""
    with mpl.rc_context(cast(Any, _RC)):
        yield


def render(fig: Figure, key: str = "figure") -> tuple[bytes, str]:
    """Render a figure to PNG bytes and SVG text, byte-stable for the same figure.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    key : str, default "figure"
        The figure's key: the SVG root id is ``saatrial-<key>`` and its
        internal ids are salted with it, so that several SVGs inlined in one
        HTML page do not share clip-path ids.

    Returns
    -------
    png : bytes
        PNG at :data:`PNG_DPI` dpi, without a software/version stamp.
    svg : str
        SVG with fixed ids (``svg.hashsalt``) and no date.

    Examples
    --------
    >>> with figure_style():
    ...     fig = Figure(figsize=(2, 1))
    ...     _ = fig.add_subplot().plot([0, 1], [0, 1])
    ...     png, svg = render(fig)
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", svg.lstrip().startswith("<?xml")
    (True, True)
    """
    with (
        figure_style(),
        mpl.rc_context({"svg.hashsalt": f"saatrial-{key}", "svg.id": f"saatrial-{key}"}),
    ):
        png_buffer = io.BytesIO()
        fig.savefig(png_buffer, format="png", dpi=PNG_DPI, metadata={"Software": None})
        svg_buffer = io.StringIO()
        fig.savefig(svg_buffer, format="svg", metadata={"Date": None, "Creator": None})
    return png_buffer.getvalue(), svg_buffer.getvalue()
