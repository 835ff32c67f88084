"""Every page of the bundled report's PDF renders (pdftoppm) and has content above its footer."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ._r3_support import bundled_output

TOOLS = shutil.which("pdftoppm") and shutil.which("pdfinfo") and shutil.which("pdftotext")
pytestmark = pytest.mark.skipif(
    not TOOLS, reason="poppler-utils missing: run scripts/ensure_system_deps.sh (as root)"
)
DPI = 50
#: The footer (rule, title, page number) sits in the bottom 18 mm margin.
FOOTER_MM = 18.0


def _body_ink(path: Path) -> tuple[float, int]:
    """Share of non-white pixels above the footer margin, and distinct colours there."""
    from PIL import Image

    pixels = np.asarray(Image.open(path).convert("RGB"))
    footer_px = round(FOOTER_MM / 25.4 * DPI)
    body = pixels[: pixels.shape[0] - footer_px].reshape(-1, 3)
    ink = float((body.min(axis=1) < 200).mean())
    packed = (body[:, 0].astype(np.int32) << 16) | (body[:, 1].astype(np.int32) << 8) | body[:, 2]
    return ink, len(np.unique(packed))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, list[Path], int]:
    pdf = bundled_output() / "report.pdf"
    folder = tmp_path_factory.mktemp("pages")
    subprocess.run(
        ["pdftoppm", "-r", str(DPI), "-png", str(pdf), str(folder / "page")],
        check=True,
        capture_output=True,
    )
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    n_pages = int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))
    return pdf, sorted(folder.glob("page-*.png")), n_pages


def test_every_page_is_rendered_at_a4(rendered):
    _, pages, n_pages = rendered
    assert len(pages) == n_pages >= 8
    from PIL import Image

    for page in pages:
        width, height = Image.open(page).size
        # A4 = 210 x 297 mm; pdftoppm rounds the pixel size up
        assert abs(width - 210 / 25.4 * DPI) < 1.5 and abs(height - 297 / 25.4 * DPI) < 1.5, (
            page.name
        )


def test_no_page_is_blank_above_its_footer(rendered):
    _, pages, _ = rendered
    blank = []
    for page in pages:
        ink, _ = _body_ink(page)
        if ink < 0.002:
            blank.append(f"{page.name}: {ink:.3%}")
    assert blank == []


def test_figures_are_drawn_in_colour(rendered):
    _, pages, _ = rendered
    colourful = [p.name for p in pages if _body_ink(p)[1] > 200]
    assert len(colourful) >= 4  # CONSORT, Figures 1-3 and the swimmer plot carry colour


def test_each_page_is_numbered_and_sections_are_in_order(rendered):
    pdf, _, n_pages = rendered
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = text.split("\f")[:-1]
    assert len(pages) == n_pages
    for i, page in enumerate(pages, start=1):
        assert f"Page {i} of {n_pages}" in page
    body = "\n".join(pages[1:]) + pages[0][pages[0].index("Summary\n") :]
    headings = [
        "Reproduction of the published results",
        "CONSORT flow diagram",
        "Table 1: baseline characteristics",
        "Safety: adverse events (Table 2)",
        "Figure 1: blood counts",
        "Figure 2: T-cell subsets",
        "Survival (Figure 3)",
        "Swimmer plot",
        "Statistical methods",
        "Notices: what could not be computed, and why",
        "Data notes",
        "Provenance",
    ]
    lines = [line.strip() for line in body.splitlines()]
    found = [h for h in lines if h in headings]
    assert found == headings
