"""Render a :class:`~saatrial.report.model.Report` as a PDF (A4, ReportLab).

The PDF holds the same sections as the HTML page, in the same order: a title
block with the report's header facts, a contents list with page numbers (and a
PDF outline for the viewer's sidebar), then each section's notices,
paragraphs, figures (the PNG embedded at its own resolution, caption below) and
tables (caption above, header row repeated on every page, footnotes below).
Every page carries "Page N of M" and the report title.

Text is set in DejaVu Sans, embedded from matplotlib's bundled fonts, so
symbols such as ±, ≥, χ², ✓ and ✗ print on any machine without system fonts.
The file is deterministic (ReportLab's *invariant* mode: fixed dates and ids),
so the same report gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    Image,
    PageBreakIfNotEmpty,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.tableofcontents import TableOfContents

from saatrial.report.html import MAJOR_SECTIONS, cell_text, png_size, status_of
from saatrial.report.model import Notice, Report, ReportFigure, ReportTable, Section

__all__ = ["render_pdf", "write_pdf"]

_FONT = "DejaVuSans"
_FONT_BOLD = "DejaVuSans-Bold"
_FONT_ITALIC = "DejaVuSans-Oblique"
_PAGE_W, _PAGE_H = A4
_MARGIN_X = 16 * mm
_MARGIN_TOP = 18 * mm
_MARGIN_BOTTOM = 18 * mm
_FRAME_W = _PAGE_W - 2 * _MARGIN_X
_FRAME_H = _PAGE_H - _MARGIN_TOP - _MARGIN_BOTTOM
_INK = colors.HexColor("#1a1a1a")
_MUTED = colors.HexColor("#555555")
_ACCENT = colors.HexColor("#1f4e79")
_RULE = colors.HexColor("#c8c8c8")
_ZEBRA = colors.HexColor("#f4f6f8")
_PASS = "#1b7837"
_FAIL = "#b2182b"
_FAILED_ROW = colors.HexColor("#fde0dd")
_NOTICE_BG = colors.HexColor("#fff8e1")
_NOTICE_RULE = colors.HexColor("#e0a800")
_CELL_PT = 7.5


@lru_cache(maxsize=1)
def _register_fonts() -> str:
    """Register DejaVu Sans (regular/bold/italic) from matplotlib's data folder."""
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in (
        (_FONT, "DejaVuSans.ttf"),
        (_FONT_BOLD, "DejaVuSans-Bold.ttf"),
        (_FONT_ITALIC, "DejaVuSans-Oblique.ttf"),
        (_FONT + "-BoldOblique", "DejaVuSans-BoldOblique.ttf"),
    ):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(ttf / file)))
    pdfmetrics.registerFontFamily(
        _FONT,
        normal=_FONT,
        bold=_FONT_BOLD,
        italic=_FONT_ITALIC,
        boldItalic=_FONT + "-BoldOblique",
    )
    return _FONT


@lru_cache(maxsize=1)
def _styles() -> dict[str, ParagraphStyle]:
    _register_fonts()
    base = ParagraphStyle("body", fontName=_FONT, fontSize=9.5, leading=13, textColor=_INK)
    return {
        "body": base,
        "title": ParagraphStyle(
            "title", parent=base, fontName=_FONT_BOLD, fontSize=17, leading=21,
            textColor=_ACCENT, spaceAfter=6,
        ),
        "h1": ParagraphStyle(
            "h1", parent=base, fontName=_FONT_BOLD, fontSize=13.5, leading=17,
            textColor=_ACCENT, spaceBefore=10, spaceAfter=6, keepWithNext=1,
        ),
        "meta": ParagraphStyle("meta", parent=base, fontSize=9, leading=12),
        "caption": ParagraphStyle(
            "caption", parent=base, fontName=_FONT_BOLD, fontSize=9, leading=12,
            spaceBefore=4, spaceAfter=3, keepWithNext=1,
        ),
        "figcaption": ParagraphStyle("figcaption", parent=base, fontSize=8.5, leading=11.5),
        "footnote": ParagraphStyle(
            "footnote", parent=base, fontSize=7.5, leading=9.5, textColor=_MUTED
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=_CELL_PT, leading=_CELL_PT + 2),
        "cell_head": ParagraphStyle(
            "cell_head", parent=base, fontName=_FONT_BOLD, fontSize=_CELL_PT,
            leading=_CELL_PT + 2,
        ),
        "notice": ParagraphStyle("notice", parent=base, fontSize=8.5, leading=11.5),
        "status": ParagraphStyle(
            "status", parent=base, fontName=_FONT_BOLD, fontSize=11, leading=15
        ),
        "toc0": ParagraphStyle("toc0", parent=base, fontSize=10, leading=14, leftIndent=10),
    }


def _x(text: Any) -> str:
    """Text escaped for a ReportLab paragraph; newlines kept as line breaks."""
    return escape(cell_text(text)).replace("\n", "<br/>")


class _SectionHeading(Paragraph):
    """A section title that registers itself in the contents and the PDF outline."""

    def __init__(self, text: str, key: str, style: ParagraphStyle) -> None:
        super().__init__(_x(text), style)
        self.plain = text
        self.key = key


class _NumberedCanvas(rl_canvas.Canvas):
    """A canvas that knows the page count: draws "Page N of M" on every page."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._footer_left = kwargs.pop("footer_left", "")
        super().__init__(*args, **kwargs)
        self._saved: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._saved.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._saved)
        for state in self._saved:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        self.saveState()
        self.setStrokeColor(_RULE)
        self.setLineWidth(0.5)
        y = _MARGIN_BOTTOM - 7 * mm
        self.line(_MARGIN_X, y + 4 * mm, _PAGE_W - _MARGIN_X, y + 4 * mm)
        self.setFont(_FONT, 7.5)
        self.setFillColor(_MUTED)
        self.drawString(_MARGIN_X, y, self._footer_left)
        self.drawRightString(_PAGE_W - _MARGIN_X, y, f"Page {self._pageNumber} of {total}")
        self.restoreState()


class _ReportDoc(BaseDocTemplate):
    """One-frame A4 document whose section headings feed the contents and outline."""

    def afterFlowable(self, flowable: Flowable) -> None:
        if isinstance(flowable, _SectionHeading):
            self.notify("TOCEntry", (0, escape(flowable.plain), self.page, flowable.key))
            self.canv.bookmarkPage(flowable.key)
            self.canv.addOutlineEntry(flowable.plain, flowable.key, level=0, closed=False)


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _notices_flowable(notices: list[Notice]) -> Flowable:
    """One callout box: a single notice inline, several as lines under a count."""
    st = _styles()
    lines = [f"<b>{_x(n.where)}:</b> {_x(n.message)}" for n in notices]
    if len(notices) > 1:
        head = f"<b>{len(notices)} notices</b> (what could not be computed here, and why):"
        lines = [head] + [f"•&nbsp;{line}" for line in lines]
    rows = [[Paragraph(line, st["notice"])] for line in lines]
    box = Table(rows, colWidths=[_FRAME_W])
    box.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), _NOTICE_BG),
                ("LINEBEFORE", (0, 0), (0, -1), 3, _NOTICE_RULE),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("TOPPADDING", (0, 0), (-1, 0), 4),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 4),
            ]
        )
    )
    return box


def _text_width(text: str, bold: bool) -> float:
    font = _FONT_BOLD if bold else _FONT
    return max(pdfmetrics.stringWidth(line, font, _CELL_PT) for line in text.split("\n"))


def _word_width(text: str, bold: bool) -> float:
    font = _FONT_BOLD if bold else _FONT
    return max(pdfmetrics.stringWidth(word, font, _CELL_PT) for word in text.split() or [""])


def _column_widths(header: list[str], rows: list[list[str]]) -> list[float]:
    """Column widths as a browser's automatic table layout would choose them.

    Each column has a natural width (its longest line) and a minimum width
    (its longest word, at most 150 pt; longer words are split), both with the
    cell padding; headers and pass/fail marks are measured in bold. When the
    natural widths fit the frame they are used; otherwise every column gets
    its minimum plus a share of the remaining width in proportion to how much
    more it would like.
    """
    pad = 6.0 + 3.0  # left + right cell padding, and slack for rounding
    natural: list[float] = []
    minimum: list[float] = []
    for j, head in enumerate(header):
        cells = [(head, True)] + [(r[j], status_of(r[j]) is not None) for r in rows]
        natural.append(max(_text_width(t, b) for t, b in cells) + pad)
        minimum.append(min(max(_word_width(t, b) for t, b in cells), 150.0) + pad)
    minimum = [max(m, 24.0) for m in minimum]
    natural = [max(n, m) for n, m in zip(natural, minimum, strict=True)]
    if sum(natural) <= _FRAME_W:
        return natural
    if sum(minimum) >= _FRAME_W:
        return [m * _FRAME_W / sum(minimum) for m in minimum]
    room = _FRAME_W - sum(minimum)
    want = sum(n - m for n, m in zip(natural, minimum, strict=True))
    return [m + (n - m) * room / want for n, m in zip(natural, minimum, strict=True)]


def _table_flowables(table: ReportTable) -> list[Flowable]:
    st = _styles()
    frame = table.frame
    header = [cell_text(c) for c in frame.columns]
    rows = [[cell_text(v) for v in r] for r in frame.itertuples(index=False, name=None)]
    if not header:
        header = [""]
    if not rows:
        rows = [["(no rows)"] + [""] * (len(header) - 1)]
    widths = _column_widths(header, rows)
    data: list[list[Flowable]] = [[Paragraph(_x(h), st["cell_head"]) for h in header]]
    style_cmds: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEABOVE", (0, 0), (-1, 0), 1.2, _INK),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, _INK),
        ("LINEBELOW", (0, -1), (-1, -1), 1.2, _INK),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    for i, row in enumerate(rows, start=1):
        cells: list[Flowable] = []
        failed = False
        for text in row:
            status = status_of(text)
            if status is not None:
                failed = failed or status == "fail"
                color = _PASS if status == "pass" else _FAIL
                marked = f'<font color="{color}"><b>{_x(text)}</b></font>'
                cells.append(Paragraph(marked, st["cell"]))
            else:
                cells.append(Paragraph(_x(text), st["cell"]))
        data.append(cells)
        if failed:
            style_cmds.append(("BACKGROUND", (0, i), (-1, i), _FAILED_ROW))
        elif i % 2 == 0:
            style_cmds.append(("BACKGROUND", (0, i), (-1, i), _ZEBRA))
    grid = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    grid.setStyle(TableStyle(style_cmds))
    out: list[Flowable] = [Paragraph(_x(table.title), st["caption"]), grid]
    for note in table.footnotes:
        out.append(Paragraph(_x(note), st["footnote"]))
    # space after the block as spaceAfter (dropped at a page end), never a trailing
    # Spacer, which could spill alone onto a page
    out[-1].spaceAfter = 10
    return out


def _figure_flowables(figure: ReportFigure) -> list[Flowable]:
    st = _styles()
    width_px, height_px, dpi = png_size(figure.png, f"figure {figure.key}")
    width = width_px / dpi * 72.0
    height = height_px / dpi * 72.0
    scale = min(1.0, _FRAME_W / width, (_FRAME_H * 0.78) / height)
    image = Image(io.BytesIO(figure.png), width=width * scale, height=height * scale)
    image.hAlign = "CENTER"
    image.spaceBefore = 4
    caption = Paragraph(f"<b>{_x(figure.title)}.</b> {_x(figure.caption)}", st["figcaption"])
    caption.spaceBefore, caption.spaceAfter = 3, 12
    # keepWithNext chains (section heading ->) image -> caption onto one page; a
    # KeepTogether here would break that chain (ReportLab does not nest it)
    return [image, caption]


def _section_flowables(section: Section) -> list[Flowable]:
    st = _styles()
    out: list[Flowable] = []
    if section.key in MAJOR_SECTIONS:
        out.append(PageBreakIfNotEmpty())
    out.append(_SectionHeading(section.title, section.key, st["h1"]))
    if section.notices:
        box = _notices_flowable(section.notices)
        box.spaceAfter = 6
        out.append(box)
    for text in section.paragraphs:
        status = status_of(text) if section.key == "reproduction" else None
        if status is not None:
            color = _PASS if status == "pass" else _FAIL
            para = Paragraph(f'<font color="{color}">{_x(text)}</font>', st["status"])
        else:
            para = Paragraph(_x(text), st["body"])
        para.spaceAfter = 4
        out.append(para)
    for figure in section.figures:
        out.extend(_figure_flowables(figure))
    for table in section.tables:
        out.extend(_table_flowables(table))
    return out


def _front_matter(report: Report) -> list[Flowable]:
    st = _styles()
    out: list[Flowable] = [Paragraph(_x(report.title), st["title"])]
    if report.meta:
        rows = [
            [Paragraph(f"<b>{_x(k)}</b>", st["meta"]), Paragraph(_x(v), st["meta"])]
            for k, v in report.meta.items()
        ]
        meta = Table(rows, colWidths=[45 * mm, _FRAME_W - 45 * mm], hAlign="LEFT")
        meta.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 1),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ]
            )
        )
        out.append(meta)
    out.append(Spacer(1, 8))
    out.append(Paragraph("Contents", st["h1"]))
    toc = TableOfContents()
    toc.levelStyles = [st["toc0"]]
    toc.dotsMinLevel = 0
    out.append(toc)
    return out


def render_pdf(report: Report) -> bytes:
    """The report as PDF bytes (A4; deterministic for a given report).

    Parameters
    ----------
    report : Report

    Returns
    -------
    bytes
        A complete PDF document.

    Raises
    ------
    ValueError
        A figure's ``png`` is not a PNG image (named by its key).

    Examples
    --------
    >>> from saatrial.report.model import Report, Section
    >>> r = Report("A study", "memory", [Section("summary", "Summary", ["18 patients."])],
    ...            {}, [], [], "saatrial test")
    >>> pdf = render_pdf(r)
    >>> pdf[:5], pdf == render_pdf(r)
    (b'%PDF-', True)
    """
    buffer = io.BytesIO()
    doc = _ReportDoc(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN_X,
        rightMargin=_MARGIN_X,
        topMargin=_MARGIN_TOP,
        bottomMargin=_MARGIN_BOTTOM,
        title=report.title,
        author="saatrial",
        subject=report.study_source,
        creator=report.generated_by,
        invariant=1,
    )
    frame = Frame(
        _MARGIN_X, _MARGIN_BOTTOM, _FRAME_W, _FRAME_H, id="body", leftPadding=0,
        rightPadding=0, topPadding=0, bottomPadding=0,
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    story = _front_matter(report)
    for section in report.sections:
        story.extend(_section_flowables(section))
    footer = _short(f"{report.title} · {report.generated_by}")

    def make_canvas(*args: Any, **kwargs: Any) -> _NumberedCanvas:
        return _NumberedCanvas(*args, footer_left=footer, **kwargs)

    canvasmaker: Callable[..., rl_canvas.Canvas] = make_canvas
    # binary (Flate only) streams: ASCII85 text encoding is pure Python in ReportLab
    # wheels without the C accelerator and doubles the time to embed the figures
    use_a85 = rl_config.useA85
    rl_config.useA85 = 0
    try:
        doc.multiBuild(story, canvasmaker=canvasmaker)
    finally:
        rl_config.useA85 = use_a85
    return buffer.getvalue()


def write_pdf(report: Report, path: str | Path) -> Path:
    """Render the report and write it to ``path`` (the caller makes it atomic)."""
    target = Path(path)
    target.write_bytes(render_pdf(report))
    return target
