"""The report as data: sections made of text, tables and figures.

Builders (tables, figures, reproduction) return these objects; writers
(HTML, PDF, results.json) render them. Nothing here draws or computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class ReportTable:
    """A table as printed: rows and columns already formatted as text.

    Attributes
    ----------
    key : str
        Stable identifier, e.g. ``"table1"``; used for file names and anchors.
    title : str
        Caption title, e.g. ``"Table 1. Baseline characteristics by arm"``.
    frame : pandas.DataFrame
        The cells as strings; the index is not printed.
    footnotes : tuple of str
        Test used, abbreviations, decisions cited.
    """

    key: str
    title: str
    frame: pd.DataFrame
    footnotes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportFigure:
    """A rendered figure.

    Attributes
    ----------
    key : str
        Stable identifier, e.g. ``"figure3_ffs"``; files are ``<key>.png`` and ``<key>.svg``.
    title : str
        Caption title.
    caption : str
        What is shown, n, the test and its p-value.
    png : bytes
        PNG image (150-200 dpi).
    svg : str
        SVG text of the same figure.
    alt : str
        Text alternative for the HTML ``alt`` attribute.
    """

    key: str
    title: str
    caption: str
    png: bytes
    svg: str
    alt: str = ""


@dataclass(frozen=True)
class Notice:
    """Something the report could not compute, and why (never a silent gap)."""

    where: str
    message: str


@dataclass(frozen=True)
class ReproductionRow:
    """One published number beside the reproduced one.

    ``key`` is the dotted path in ``published_results.yaml`` (list items by
    index, e.g. ``long_term.deaths.0.month``).
    """

    key: str
    published: Any
    reproduced: Any
    difference: float | None
    tolerance: str
    passed: bool
    note: str = ""


@dataclass
class Section:
    """A report section: paragraphs (plain text), tables and figures in order."""

    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[ReportTable] = field(default_factory=list)
    figures: list[ReportFigure] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


@dataclass
class Report:
    """The whole report, ready for the writers."""

    title: str
    study_source: str
    sections: list[Section]
    results: dict[str, Any]
    reproduction: list[ReproductionRow]
    notices: list[Notice]
    generated_by: str
    #: Header facts in display order, label -> text (study, registry id, data
    #: cut-off, generated at ...); optional, the writers print what is there.
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def reproduction_ok(self) -> bool:
        return all(r.passed for r in self.reproduction)
