"""Render a :class:`~saatrial.report.model.Report` as one self-contained HTML page.

The page needs nothing but itself: the CSS is inline, every figure is an
embedded base64 PNG (``data:`` URI) and a Content-Security-Policy forbids any
other load, so it opens offline and a browser reports any stray reference as
an error. Output is deterministic: the same report gives the same bytes.

Layout: a header (title and :attr:`Report.meta` facts), a contents list, then
every section in the report's order - its notices (callouts), paragraphs,
figures (caption below) and tables (caption above, footnotes below). Table
cells whose text starts with ``✓`` or ``✗`` are marked pass/fail (colour *and*
symbol, so the mark survives colour blindness and black-and-white printing).
"""

from __future__ import annotations

import base64
import html
import struct
from importlib import resources
from string import Template
from typing import Any

import pandas as pd

from saatrial.report.model import Notice, Report, ReportFigure, ReportTable, Section

__all__ = [
    "FAIL_MARK",
    "MAJOR_SECTIONS",
    "PASS_MARK",
    "cell_text",
    "png_size",
    "render_html",
    "status_of",
]

#: Cell text prefixes that the writers render as pass / fail marks.
PASS_MARK = "✓"
FAIL_MARK = "✗"
#: Sections that start on a new page when printed.
MAJOR_SECTIONS = frozenset({"reproduction", "table1", "figure1", "survival", "methods"})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: CSS pixels per inch (the browser's reference pixel).
_CSS_DPI = 96.0


def cell_text(value: Any) -> str:
    """A table cell as text: missing values (None, NaN, NA) are empty.

    Examples
    --------
    >>> cell_text(None), cell_text(float("nan")), cell_text("4 (1–10)"), cell_text(9)
    ('', '', '4 (1–10)', '9')
    """
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):  # list-like cells are never "missing"
        pass
    return str(value)


def status_of(text: str) -> str | None:
    """``"pass"`` / ``"fail"`` for a cell starting with the pass/fail mark, else None.

    Examples
    --------
    >>> status_of("✓ pass"), status_of("✗ FAIL"), status_of("0.153")
    ('pass', 'fail', None)
    """
    stripped = text.lstrip()
    if stripped.startswith(PASS_MARK):
        return "pass"
    if stripped.startswith(FAIL_MARK):
        return "fail"
    return None


def png_size(png: bytes, where: str = "figure") -> tuple[int, int, float]:
    """Width and height in pixels and the resolution (dots per inch) of a PNG.

    The resolution comes from the ``pHYs`` chunk (matplotlib writes it);
    150 dpi when the chunk is absent.

    Parameters
    ----------
    png : bytes
        The PNG file.
    where : str
        Name used in the error message.

    Raises
    ------
    ValueError
        ``png`` is not a PNG image.

    Examples
    --------
    >>> import struct, zlib
    >>> def chunk(kind, data):
    ...     return (struct.pack(">I", len(data)) + kind + data
    ...             + struct.pack(">I", zlib.crc32(kind + data)))
    >>> ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 300, 200, 8, 2, 0, 0, 0))
    >>> phys = chunk(b"pHYs", struct.pack(">IIB", 5906, 5906, 1))  # 150 dpi
    >>> png_size(b"\\x89PNG\\r\\n\\x1a\\n" + ihdr + phys)
    (300, 200, 150.0)
    """
    if not png.startswith(_PNG_SIGNATURE) or len(png) < 33 or png[12:16] != b"IHDR":
        raise ValueError(f"{where}: png: not a PNG image ({len(png)} bytes)")
    width, height = struct.unpack(">II", png[16:24])
    dpi = 150.0
    pos = 8
    while pos + 8 <= len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        if kind == b"pHYs" and length >= 9:
            ppu_x, _, unit = struct.unpack(">IIB", png[pos + 8 : pos + 17])
            if unit == 1 and ppu_x > 0:  # pixels per metre
                dpi = round(ppu_x * 0.0254, 1)
            break
        if kind in (b"IDAT", b"IEND"):
            break
        pos += 12 + length
    if width <= 0 or height <= 0:
        raise ValueError(f"{where}: png: empty image ({width}x{height} px)")
    return int(width), int(height), float(dpi)


def _e(text: Any) -> str:
    return html.escape(cell_text(text), quote=True)


def _anchor(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in key)


def _notices_html(notices: list[Notice]) -> str:
    """One callout: a single notice inline, several as a list under a count."""
    if not notices:
        return ""
    if len(notices) == 1:
        n = notices[0]
        return f'<div class="notice"><strong>{_e(n.where)}:</strong> {_e(n.message)}</div>'
    items = "".join(f"<li><strong>{_e(n.where)}:</strong> {_e(n.message)}</li>" for n in notices)
    return (
        f'<div class="notice"><strong>{len(notices)} notices</strong> (what could not be '
        f"computed here, and why):<ul>{items}</ul></div>"
    )


def _table_html(table: ReportTable) -> str:
    frame = table.frame
    head = "".join(f'<th scope="col">{_e(c)}</th>' for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False, name=None):
        texts = [cell_text(v) for v in values]
        statuses = [status_of(t) for t in texts]
        cells = "".join(
            f'<td class="{s}">{_e(t)}</td>' if s else f"<td>{_e(t)}</td>"
            for t, s in zip(texts, statuses, strict=True)
        )
        cls = ' class="failed"' if "fail" in statuses else ""
        rows.append(f"<tr{cls}>{cells}</tr>")
    body = "\n".join(rows) or f'<tr><td colspan="{max(len(frame.columns), 1)}">(no rows)</td></tr>'
    notes = ""
    if table.footnotes:
        items = "".join(f"<li>{_e(n)}</li>" for n in table.footnotes)
        notes = f'<ul class="footnotes">{items}</ul>'
    text_heavy = table.key in {"reproduction", "data_notes", "notices"}
    cls = ' class="left"' if text_heavy else ""
    return (
        f'<div class="table-wrap" id="tbl-{_anchor(table.key)}">\n'
        f"<table{cls}>\n<caption>{_e(table.title)}</caption>\n"
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n{notes}\n</div>"
    )


def _figure_html(figure: ReportFigure) -> str:
    width, height, dpi = png_size(figure.png, f"figure {figure.key}")
    css_w = round(width * _CSS_DPI / dpi)
    css_h = round(height * _CSS_DPI / dpi)
    data = base64.b64encode(figure.png).decode("ascii")
    alt = figure.alt or figure.title
    files = (
        f'<span class="files">Files: figures/{_e(figure.key)}.png, '
        f"figures/{_e(figure.key)}.svg</span>"
    )
    return (
        f'<figure id="fig-{_anchor(figure.key)}">\n'
        f'<img src="data:image/png;base64,{data}" width="{css_w}" height="{css_h}" '
        f'alt="{_e(alt)}">\n'
        f"<figcaption><strong>{_e(figure.title)}.</strong> {_e(figure.caption)} "
        f"{files}</figcaption>\n</figure>"
    )


def _paragraph_html(text: str) -> str:
    return "<p>" + "<br>".join(_e(line) for line in text.split("\n")) + "</p>"


def _section_html(section: Section) -> str:
    major = " major" if section.key in MAJOR_SECTIONS else ""
    parts = [f'<section id="{_anchor(section.key)}" class="section{major}">']
    parts.append(f"<h2>{_e(section.title)}</h2>")
    if section.notices:
        parts.append(_notices_html(section.notices))
    for text in section.paragraphs:
        if section.key == "reproduction" and text.startswith((PASS_MARK, FAIL_MARK)):
            cls = status_of(text)
            parts.append(f'<p class="status-line {cls}">{_e(text)}</p>')
        else:
            parts.append(_paragraph_html(text))
    parts.extend(_figure_html(f) for f in section.figures)
    parts.extend(_table_html(t) for t in section.tables)
    parts.append("</section>")
    return "\n".join(parts)


def _header_html(report: Report) -> str:
    facts = "\n".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in report.meta.items())
    meta = f'<dl class="meta">\n{facts}\n</dl>' if facts else ""
    return f"<header>\n<h1>{_e(report.title)}</h1>\n{meta}\n</header>"


def _contents_html(sections: list[Section]) -> str:
    items = "\n".join(
        f'<li><a href="#{_anchor(s.key)}">{_e(s.title)}</a></li>' for s in sections
    )
    return (
        '<nav class="contents" aria-label="Contents">\n<h2>Contents</h2>\n'
        f"<ol>\n{items}\n</ol>\n</nav>"
    )


def _page_template() -> Template:
    text = resources.files("saatrial.report").joinpath("templates", "page.html").read_text(
        encoding="utf-8"
    )
    return Template(text)


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document.

    Parameters
    ----------
    report : Report
        Sections are rendered in their order; figures must be PNG images.

    Returns
    -------
    str
        The HTML text (UTF-8 when written; ``\\n`` line endings).

    Raises
    ------
    ValueError
        A figure's ``png`` is not a PNG image (named by its key).

    Examples
    --------
    >>> from saatrial.report.model import Report, Section
    >>> r = Report("A study", "memory", [Section("summary", "Summary", ["18 patients."])],
    ...            {}, [], [], "saatrial test", {"Registry id": "NCT00000000"})
    >>> page = render_html(r)
    >>> "<h2>Summary</h2>" in page and "<dd>NCT00000000</dd>" in page
    True
    >>> "http://" in page or "https://" in page
    False
    """
    body = "\n".join(
        [
            _header_html(report),
            _contents_html(report.sections),
            "<main>",
            *(_section_html(s) for s in report.sections),
            "</main>",
            f"<footer>{_e(report.generated_by)} · source: {_e(report.study_source)}</footer>",
        ]
    )
    return _page_template().substitute(
        title=_e(report.title), generator=_e(report.generated_by), body=body
    )
