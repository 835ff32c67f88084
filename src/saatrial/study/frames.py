"""Turn raw rows (from a CSV file or a sheet) into typed tables, and typed tables into rows.

This is the one place where a table's header is matched against the
dictionary and its cells are parsed; the CSV and XLSX modules only get rows in
and out of files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from saatrial.study.dictionary import TableSpec
from saatrial.study.problems import ANY_FIELD, FILE_ROW, HEADER_ROW, Problem, Severity
from saatrial.study.values import CellError, build_column, format_value, parse_cell

__all__ = [
    "RawTable",
    "ReadTables",
    "TypedTable",
    "assemble",
    "empty_frame",
    "sorted_positions",
    "text_rows",
]


@dataclass
class RawTable:
    """A table as found in a file, before parsing.

    Attributes
    ----------
    spec : TableSpec
        The dictionary table.
    file : str
        File label for messages (``labs.csv``, ``study.xlsx[labs]``).
    header : list
        Column names as found (blank/None allowed for unnamed columns).
    rows : list of (int, list)
        ``(line number, cells)``; ``cells`` may be shorter or longer than the header.
    pad_short_rows : bool
        Treat missing trailing cells as empty (spreadsheets); otherwise a row
        with the wrong number of cells is an error (CSV).
    """

    spec: TableSpec
    file: str
    header: list[Any]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    pad_short_rows: bool = False


@dataclass
class TypedTable:
    """A parsed table: typed frame, source line of each row, problems found."""

    frame: pd.DataFrame
    lines: tuple[int, ...]
    problems: list[Problem]


def empty_frame(spec: TableSpec) -> pd.DataFrame:
    """A table with no rows, all dictionary columns and their dtypes."""
    return pd.DataFrame({name: build_column(f.type, []) for name, f in spec.fields.items()})


def _problem(
    raw: RawTable, row: int, field_name: str, rule: str, value: Any, detail: str = ""
) -> Problem:
    return Problem(
        file=raw.file,
        row=row,
        field=field_name,
        rule=rule,
        value="" if value is None else str(value),
        severity=Severity.ERROR,
        detail=detail,
        table=raw.spec.name,
    )


def assemble(raw: RawTable) -> TypedTable:
    """Match the header to the dictionary and parse every cell.

    Every problem is collected; a cell that does not parse becomes NA, a row
    with the wrong number of cells is left out, an unknown column is dropped
    and a missing optional column is filled with NA, so that the result is
    always a complete typed table and later rules can still run.

    Problems (all errors): ``unknown_column``, ``duplicate_column``,
    ``missing_column`` (a required field's column is absent), ``field_count``,
    ``type``.
    """
    spec = raw.spec
    problems: list[Problem] = []
    positions: dict[str, int] = {}
    for pos, name in enumerate(raw.header):
        col = "" if name is None else str(name).strip()
        if col in positions:
            problems.append(_problem(raw, HEADER_ROW, col, "duplicate_column", col))
        elif col not in spec.fields:
            detail = "(not in the dictionary table " + spec.name + ")"
            problems.append(
                _problem(raw, HEADER_ROW, col or ANY_FIELD, "unknown_column", col, detail)
            )
        else:
            positions[col] = pos
    for name, f in spec.fields.items():
        if name not in positions and f.required:
            problems.append(
                _problem(raw, HEADER_ROW, name, "missing_column", "", "(required field)")
            )

    width = len(raw.header)
    columns: dict[str, list[Any]] = {name: [] for name in spec.fields}
    lines: list[int] = []
    for line, cells in raw.rows:
        if len(cells) != width and not (raw.pad_short_rows and len(cells) < width):
            problems.append(
                _problem(raw, line, ANY_FIELD, "field_count", len(cells), f"(header has {width})")
            )
            continue
        lines.append(line)
        for name, f in spec.fields.items():
            at = positions.get(name)
            cell = cells[at] if at is not None and at < len(cells) else None
            try:
                value = parse_cell(f, cell)
            except CellError as err:
                problems.append(_problem(raw, line, name, "type", cell, err.hint))
                value = None
            columns[name].append(value)
    frame = pd.DataFrame(
        {name: build_column(f.type, columns[name]) for name, f in spec.fields.items()}
    )
    return TypedTable(frame=frame, lines=tuple(lines), problems=problems)


def missing_table_problem(spec: TableSpec, file: str) -> Problem:
    """The error for a required table whose file or sheet is absent."""
    return Problem(
        file=file,
        row=FILE_ROW,
        field=ANY_FIELD,
        rule="missing_table",
        value="",
        severity=Severity.ERROR,
        detail="(required table " + spec.name + ")",
        table=spec.name,
    )


def sorted_positions(
    frame: pd.DataFrame, spec: TableSpec, texts: dict[str, list[str]]
) -> list[int]:
    """Row positions sorted by the table key (string sort of the key fields in order)."""
    keys = [texts[k] for k in spec.key]
    return sorted(range(len(frame)), key=lambda i: tuple(col[i] for col in keys))


def text_columns(frame: pd.DataFrame, spec: TableSpec) -> dict[str, list[str]]:
    """Canonical text of every cell, column by column."""
    return {
        name: [format_value(f.type, v) for v in frame[name].tolist()]
        for name, f in spec.fields.items()
    }


def text_rows(frame: pd.DataFrame, spec: TableSpec) -> list[list[str]]:
    """Canonical text rows of a typed table, sorted by key (the CSV writer's body)."""
    texts = text_columns(frame, spec)
    names: Sequence[str] = spec.field_names
    return [[texts[n][i] for n in names] for i in sorted_positions(frame, spec, texts)]


@dataclass
class ReadTables:
    """Everything a reader found: typed tables (always complete), where they came from, problems."""

    tables: dict[str, pd.DataFrame]
    files: dict[str, str]
    lines: dict[str, tuple[int, ...]]
    problems: list[Problem]
    source: str
