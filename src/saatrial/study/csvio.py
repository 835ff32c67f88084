"""A study as a folder of CSV files, one ``<table>.csv`` per dictionary table.

Reading accepts UTF-8 with or without BOM, ``\\n`` or ``\\r\\n`` line endings,
comma (or, when the header has no comma, semicolon or tab) separators, columns
in any order, optional columns left out, and blank lines. Writing produces
exactly the canonical format of common.md: UTF-8 without BOM, ``\\n``, comma,
minimal quoting, all fields in dictionary order, rows sorted by key.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from saatrial.study.dictionary import Dictionary, TableSpec
from saatrial.study.frames import (
    RawTable,
    ReadTables,
    assemble,
    empty_frame,
    missing_table_problem,
    text_rows,
)
from saatrial.study.problems import ANY_FIELD, FILE_ROW, Problem, Severity

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

__all__ = ["csv_bytes", "numbered_records", "read_csv_folder", "sniff_delimiter"]


def _file_problem(file: str, rule: str, value: str, detail: str = "", table: str = "") -> Problem:
    return Problem(file, FILE_ROW, ANY_FIELD, rule, value, Severity.ERROR, detail, table)


def sniff_delimiter(first_line: str) -> str:
    """The separator of a CSV file from its first line: comma, else semicolon or tab, else comma.

    Examples
    --------
    >>> [sniff_delimiter(line) for line in ("a;b,c", "a;b", "a\\tb", "a")]
    [',', ';', '\\t', ',']
    """
    if "," in first_line:
        return ","
    for candidate in (";", "\t"):
        if candidate in first_line:
            return candidate
    return ","


def numbered_records(reader: CsvReader) -> Iterator[tuple[int, list[str]]]:
    """The non-blank records of a :func:`csv.reader`, each with the line it starts on.

    A record is blank when it has no cell or only empty/space cells. Line
    numbers count physical lines (``reader.line_num``), so a record after one
    with a quoted line break still gets its own line. :class:`csv.Error` is
    passed on; ``reader.line_num`` then says where.

    Examples
    --------
    >>> text = 'a,b\\n\\n"x\\ny",1\\n , \\n2,3\\n'
    >>> list(numbered_records(csv.reader(io.StringIO(text))))
    [(1, ['a', 'b']), (3, ['x\\ny', '1']), (6, ['2', '3'])]
    """
    last_line = 0
    for record in reader:
        start = last_line + 1
        last_line = reader.line_num
        if record and any(cell.strip() for cell in record):
            yield start, record


def _raw_table(entry: Traversable, spec: TableSpec) -> tuple[RawTable | None, list[Problem]]:
    file = spec.csv_name
    try:
        # bytes, decoded here: Traversable.open has no newline= and csv needs \r\n kept
        text = entry.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return None, [
            _file_problem(file, "encoding", f"byte {err.start}", "(UTF-8 required)", spec.name)
        ]
    if not text.strip():
        return RawTable(spec, file, list(spec.field_names)), []
    reader = csv.reader(
        io.StringIO(text), delimiter=sniff_delimiter(text.split("\n", 1)[0]), strict=True
    )
    try:
        records = list(numbered_records(reader))
    except csv.Error as err:
        return None, [
            Problem(
                file,
                reader.line_num,
                ANY_FIELD,
                "csv_syntax",
                str(err),
                Severity.ERROR,
                "",
                spec.name,
            )
        ]
    header = records[0][1] if records else None  # the first non-blank line is the header
    return RawTable(spec, file, header or list(spec.field_names), records[1:]), []


def read_csv_folder(folder: Traversable, dictionary: Dictionary, source: str) -> ReadTables:
    """Read every table of a CSV folder, collecting all problems.

    Parameters
    ----------
    folder : Traversable
        A :class:`pathlib.Path` or package resource folder.
    dictionary : Dictionary
        The data dictionary.
    source : str
        Description of the folder for :attr:`StudyData.source`.

    Returns
    -------
    ReadTables
        Complete typed tables (missing files -> empty tables) and every problem.
        This function never raises for bad data and never writes.
    """
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    lines: dict[str, tuple[int, ...]] = {}
    problems: list[Problem] = []
    if not folder.is_dir():
        problems.append(
            _file_problem(str(source), "not_found", str(source), "(folder of CSV files)")
        )
        entries: dict[str, Traversable] = {}
    else:
        entries = {e.name: e for e in folder.iterdir() if e.is_file()}
    known = {spec.csv_name for spec in dictionary.tables.values()}
    for name in sorted(entries):
        if name.lower().endswith(".csv") and name not in known:
            problems.append(
                _file_problem(name, "unknown_table", name, "(not a dictionary table file)")
            )
    for spec in dictionary.tables.values():
        files[spec.name] = spec.csv_name
        entry = entries.get(spec.csv_name)
        raw: RawTable | None = None
        if entry is None:
            if spec.required and folder.is_dir():
                problems.append(missing_table_problem(spec, spec.csv_name))
        else:
            raw, found = _raw_table(entry, spec)
            problems.extend(found)
        if raw is None:
            tables[spec.name] = empty_frame(spec)
            lines[spec.name] = ()
            continue
        typed = assemble(raw)
        tables[spec.name] = typed.frame
        lines[spec.name] = typed.lines
        problems.extend(typed.problems)
    return ReadTables(tables, files, lines, problems, source)


def csv_bytes(frame: pd.DataFrame, spec: TableSpec) -> bytes:
    """The canonical CSV file of one typed table.

    Examples
    --------
    >>> from saatrial.study.dictionary import load_dictionary
    >>> from saatrial.study.frames import empty_frame
    >>> spec = load_dictionary().tables["sites"]
    >>> csv_bytes(empty_frame(spec), spec)
    b'site_id,name,country\\n'
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(spec.field_names)
    writer.writerows(text_rows(frame, spec))
    return out.getvalue().encode("utf-8")


def is_csv_folder(path: Path) -> bool:
    """True when ``path`` is a folder (the CSV layout)."""
    return path.is_dir()
