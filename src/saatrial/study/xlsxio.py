"""A study as one XLSX workbook, one sheet per dictionary table (sheet name = table file).

Written sheets hold native cell types so that the workbook opens cleanly in
Excel or SPSS: dates are Excel dates formatted ``yyyy-mm-dd``, integers and
numbers are numeric cells, booleans and codes are the text ``Y``/``N`` and the
code, missing values are empty cells. Text that starts with ``=`` is stored as
text, never as a formula.

Round trips are exact for every value a canonical CSV can hold: openpyxl
stores numbers with 16 significant digits, which reproduces any double that is
the nearest double to a decimal of at most 16 digits (canonical CSV numbers
have at most 10).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from saatrial.study.dictionary import Dictionary, TableSpec
from saatrial.study.frames import (
    RawTable,
    ReadTables,
    assemble,
    empty_frame,
    missing_table_problem,
    sorted_positions,
    text_columns,
)
from saatrial.study.problems import ANY_FIELD, FILE_ROW, Problem, Severity
from saatrial.study.values import is_missing

__all__ = ["XLSX_SUFFIXES", "read_xlsx", "write_xlsx_file"]

XLSX_SUFFIXES = (".xlsx", ".xlsm")
DATE_FORMAT = "yyyy-mm-dd"


def sheet_label(path: Path | str, sheet: str) -> str:
    """File label of a sheet in messages: ``workbook.xlsx[labs]``."""
    return f"{Path(path).name}[{sheet}]"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _sheet_raw(ws: Any, spec: TableSpec, label: str) -> RawTable:
    header: list[Any] | None = None
    rows: list[tuple[int, list[Any]]] = []
    for number, values in enumerate(ws.iter_rows(min_row=1, min_col=1, values_only=True), start=1):
        cells = list(values)
        if all(_blank(v) for v in cells):
            continue
        if header is None:
            header = cells
        else:
            rows.append((number, cells))
    if header is None:
        return RawTable(spec, label, list(spec.field_names), [], pad_short_rows=True)
    # columns without a header and without data (spreadsheet padding) are not columns
    keep = [
        i
        for i, name in enumerate(header)
        if not _blank(name) or any(i < len(c) and not _blank(c[i]) for _, c in rows)
    ]
    header = [header[i] for i in keep]
    trimmed = [
        (number, [cells[i] if i < len(cells) else None for i in keep]) for number, cells in rows
    ]
    return RawTable(spec, label, header, trimmed, pad_short_rows=True)


def read_xlsx(path: Path, dictionary: Dictionary, source: str) -> ReadTables:
    """Read every table of a workbook, collecting all problems (never raises for bad data).

    Parameters
    ----------
    path : Path
        The ``.xlsx`` file.
    dictionary : Dictionary
        The data dictionary.
    source : str
        Description for :attr:`StudyData.source`.

    Returns
    -------
    ReadTables
        Complete typed tables (absent sheets -> empty tables) and every problem.
    """
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    lines: dict[str, tuple[int, ...]] = {}
    problems: list[Problem] = []
    workbook = None
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as err:
        problems.append(
            Problem(
                path.name,
                FILE_ROW,
                ANY_FIELD,
                "unreadable",
                type(err).__name__,
                Severity.ERROR,
                "(not a readable XLSX workbook)",
            )
        )
    try:
        sheets = list(workbook.sheetnames) if workbook is not None else []
        by_file = {spec.file: spec for spec in dictionary.tables.values()}
        for sheet in sheets:
            if sheet not in by_file:
                problems.append(
                    Problem(
                        sheet_label(path, sheet),
                        FILE_ROW,
                        ANY_FIELD,
                        "unknown_table",
                        sheet,
                        Severity.ERROR,
                        "(not a dictionary table sheet)",
                    )
                )
        for spec in dictionary.tables.values():
            label = sheet_label(path, spec.file)
            files[spec.name] = label
            if workbook is None or spec.file not in sheets:
                if workbook is not None and spec.required:
                    problems.append(missing_table_problem(spec, label))
                tables[spec.name] = empty_frame(spec)
                lines[spec.name] = ()
                continue
            typed = assemble(_sheet_raw(workbook[spec.file], spec, label))
            tables[spec.name] = typed.frame
            lines[spec.name] = typed.lines
            problems.extend(typed.problems)
    finally:
        if workbook is not None:
            workbook.close()
    return ReadTables(tables, files, lines, problems, source)


def _cell_value(field_type: str, value: Any) -> Any:
    if is_missing(value):
        return None
    if field_type == "date":
        return pd.Timestamp(value).date()
    if field_type == "integer":
        return int(value)
    if field_type == "number":
        return float(value)
    if field_type == "boolean":
        return "Y" if bool(value) else "N"
    return str(value)


def write_xlsx_file(tables: dict[str, pd.DataFrame], dictionary: Dictionary, target: Path) -> None:
    """Write the workbook to ``target`` (a plain write; callers make it atomic)."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.Workbook(write_only=True)
    for spec in dictionary.tables.values():
        ws = workbook.create_sheet(spec.file)
        frame = tables[spec.name]
        names = spec.field_names
        for i, name in enumerate(names, start=1):
            ws.column_dimensions[get_column_letter(i)].width = max(12, len(name) + 2)
        ws.append(list(names))
        texts = text_columns(frame, spec)
        columns = {name: frame[name].tolist() for name in names}
        for pos in sorted_positions(frame, spec, texts):
            row = []
            for name in names:
                ftype = spec.fields[name].type
                value = _cell_value(ftype, columns[name][pos])
                cell = WriteOnlyCell(ws, value=value)
                if isinstance(value, dt.date):
                    cell.number_format = DATE_FORMAT
                elif isinstance(value, str):
                    cell.data_type = "s"  # never a formula
                row.append(cell)
            ws.append(row)
    workbook.save(target)
