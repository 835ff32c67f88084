"""The HTML writer: one self-contained, escaped, deterministic page."""

from __future__ import annotations

import base64
import re
from dataclasses import replace

import pytest

from saatrial.report.html import png_size, render_html, status_of
from saatrial.report.model import Notice

from ._r3_support import hand_report, tiny_png


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(hand_report())


def test_sections_in_order_with_contents_links(page):
    ids = re.findall(r'<section id="([^"]+)"', page)
    assert ids == ["summary", "reproduction", "table1", "survival", "notices"]
    links = re.findall(r'<li><a href="#([^"]+)">', page)
    assert links == ids


def test_header_shows_meta_facts_in_order(page):
    facts = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page)
    assert facts == [
        ("Study id", "t1"),
        ("Registry id", "NCT00000000"),
        ("Data cut-off", "2018-04-13"),
    ]


def test_text_is_escaped_not_interpreted(page):
    assert "<script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "Row 0 &lt;b&gt;&amp;" in page
    # a newline in a paragraph becomes a line break
    assert "Line one<br>line two" in page


def test_table_caption_cells_and_footnotes(page):
    block = page[page.index('id="tbl-table1"') :]
    block = block[: block.index("</div>")]
    assert "<caption>Table 1. Baseline characteristics by arm</caption>" in block
    assert block.count("<tr>") == 1 + 3  # header + 3 rows
    assert "<td></td>" in block  # the missing control value is an empty cell
    assert "4 (1–10)" in block and "0.45 ≥ χ²" in block
    assert '<ul class="footnotes"><li>Student&#x27;s t-test' in block


def test_pass_and_fail_marks_are_classed_and_failed_row_shaded(page):
    assert '<td class="pass">✓ pass</td>' in page
    assert '<tr class="failed"><td>relapse</td><td class="fail">✗ FAIL</td></tr>' in page
    assert '<p class="status-line fail">✗ 1 of 2' in page
    assert status_of("  ✓ x") == "pass" and status_of("x ✗") is None


def test_section_notice_is_a_callout(page):
    assert '<div class="notice"><strong>Table 1 (age):</strong> 1 missing</div>' in page


def test_figure_is_embedded_png_at_its_physical_size():
    png = tiny_png(3.0, 2.0, dpi=100)  # 300 x 200 px at 100 dpi -> 288 x 192 CSS px
    page = render_html(hand_report(png=png))
    m = re.search(r'<img src="data:image/png;base64,([^"]+)" width="(\d+)" height="(\d+)"', page)
    assert m is not None
    assert base64.b64decode(m.group(1)) == png
    assert (int(m.group(2)), int(m.group(3))) == (288, 192)
    assert 'alt="Kaplan-Meier curves of failure-free survival by arm"' in page
    assert "<strong>Figure 3. Failure-free survival.</strong>" in page


def test_self_contained_no_external_reference(page):
    # every src/href is a data: URI or an in-page anchor; the CSP forbids other loads
    refs = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert refs and all(r.startswith(("data:", "#")) for r in refs)
    assert "default-src 'none'" in page
    assert "http://" not in page and "https://" not in page
    assert "<style>" in page and "<link rel=\"stylesheet\"" not in page


def test_deterministic(page):
    assert render_html(hand_report()) == page


def test_bad_png_is_refused_naming_the_figure():
    with pytest.raises(ValueError, match="figure figure3_ffs: png: not a PNG image"):
        render_html(hand_report(png=b"GIF89a not a png"))


def test_png_size_reads_matplotlib_dpi():
    assert png_size(tiny_png(2.0, 1.0, dpi=150)) == (300, 150, 150.0)
    with pytest.raises(ValueError, match="x: png: not a PNG image"):
        png_size(b"", "x")


def test_empty_table_says_no_rows():
    report = hand_report()
    table = report.sections[2].tables[0]
    empty = replace(table, frame=table.frame.iloc[0:0])
    report.sections[2].tables[0] = empty
    assert '<td colspan="4">(no rows)</td>' in render_html(report)


def test_several_notices_are_one_callout_with_a_list():
    report = hand_report()
    report.sections[2].notices.append(Notice("Table 1 (sex)", "no test: a single arm"))
    page = render_html(report)
    assert page.count('<div class="notice">') == 1
    assert (
        '<div class="notice"><strong>2 notices</strong> (what could not be computed here, and '
        "why):<ul><li><strong>Table 1 (age):</strong> 1 missing</li>"
        "<li><strong>Table 1 (sex):</strong> no test: a single arm</li></ul></div>"
    ) in page
