"""The PDF writer: same sections as the HTML, legible tables, embedded figures, page numbers."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from saatrial.report.model import ReportTable, Section
from saatrial.report.pdf import render_pdf

from ._r3_support import hand_report

POPPLER = shutil.which("pdftotext") and shutil.which("pdfinfo")
needs_poppler = pytest.mark.skipif(
    not POPPLER,
    reason="poppler-utils (pdftotext, pdfinfo) missing: run scripts/ensure_system_deps.sh",
)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_pdf(hand_report())


def _text(pdf: bytes, tmp_path: Path) -> list[str]:
    """Text of each page (pdftotext -layout), split at form feeds."""
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return out.split("\f")[:-1]


def _pages(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "p.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(
        ["pdfinfo", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def test_is_a_deterministic_pdf_with_embedded_fonts_and_images(pdf):
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert render_pdf(hand_report()) == pdf
    assert b"DejaVuSans" in pdf  # embedded TrueType, so ±, ≥, χ², ✓ print anywhere
    # the one figure (an RGBA PNG: its alpha channel is a second image, the /SMask)
    assert pdf.count(b"/Subtype /Image") - pdf.count(b"/SMask ") == 1
    assert b"/Outlines" in pdf  # section bookmarks


@needs_poppler
def test_sections_tables_and_page_numbers_are_text(pdf, tmp_path):
    pages = _text(pdf, tmp_path)
    n = len(pages)
    assert n == _pages(pdf, tmp_path) and n >= 3  # reproduction and table1 start new pages
    for i, page in enumerate(pages, start=1):
        assert f"Page {i} of {n}" in page
    text = "\n".join(pages)
    titles = ["Summary", "Reproduction", "Table 1", "Survival", "Notices"]
    headings = [line.strip() for line in text.splitlines() if line.strip() in titles]
    assert headings == titles  # each section heading once, in order (contents lines have dots)
    for needle in (
        "Table 1. Baseline characteristics by arm",
        "Row 0 <b>&",  # escaped markup printed as text
        "4 (1–10)",
        "0.45 ≥ χ²",
        "Student's t-test; χ² and Fisher's exact test.",
        "✓ pass",
        "✗ FAIL",
        "Figure 3. Failure-free survival.",
        "Table 1 (age): 1 missing",
        "NCT00000000",
    ):
        assert needle in text, needle


@needs_poppler
def test_contents_lists_every_section_with_its_page(pdf, tmp_path):
    first = _text(pdf, tmp_path)[0]
    contents = first[first.index("Contents") :]
    for title in ("Summary", "Reproduction", "Table 1", "Survival", "Notices"):
        assert re.search(rf"{title}\W.*\d+\s*$", contents, re.M), title


@needs_poppler
def test_long_table_continues_with_its_header_on_the_next_page(tmp_path):
    report = hand_report()
    frame = pd.DataFrame({"Subject": [f"S{i:03d}" for i in range(150)], "Value": ["x"] * 150})
    report.sections.append(
        Section("data_notes", "Data notes", [], [ReportTable("data_notes", "Long", frame)])
    )
    pages = _text(render_pdf(report), tmp_path)
    with_rows = [p for p in pages if "S0" in p or "S1" in p]
    assert len(with_rows) >= 2
    assert all(re.search(r"Subject\s+Value", p) for p in with_rows)
    text = "\n".join(pages)
    assert "S000" in text and "S149" in text


def test_bad_png_is_refused_naming_the_figure():
    with pytest.raises(ValueError, match="figure figure3_ffs: png: not a PNG image"):
        render_pdf(hand_report(png=b"not a png"))
