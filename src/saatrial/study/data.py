"""``StudyData``: a whole study in memory, typed by the data dictionary.

A study on disk is a folder with one ``<table>.csv`` per dictionary table, or
one XLSX workbook with one sheet per table. :meth:`StudyData.read` reads
either; :meth:`StudyData.write_csv` and :meth:`StudyData.write_xlsx` write
them. Readers never write and never return part of a study: every problem
they meet (bad date, non-number, unknown code, value outside its hard range,
unknown column, missing required table ...) is collected and raised at once
as one :class:`StudyDataError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from saatrial.atomic import write_file_atomic, write_folder_atomic
from saatrial.study.csvio import csv_bytes, read_csv_folder
from saatrial.study.dictionary import Dictionary, TableSpec, load_dictionary
from saatrial.study.frames import RawTable, ReadTables, assemble, empty_frame, sorted_positions
from saatrial.study.frames import text_columns as _text_columns
from saatrial.study.problems import (
    ANY_FIELD,
    FILE_ROW,
    HEADER_ROW,
    Problem,
    Severity,
    StudyDataError,
)
from saatrial.study.values import PANDAS_DTYPES
from saatrial.study.xlsxio import XLSX_SUFFIXES, read_xlsx, write_xlsx_file

__all__ = ["StudyData", "load_bundled_study", "read_tables"]

BUNDLED_PACKAGE = "saatrial.study"
BUNDLED_FOLDER = "bundled"


def _dtype_ok(series: pd.Series, field_type: str) -> bool:
    if field_type in ("string", "code"):
        return isinstance(series.dtype, pd.StringDtype)
    return str(series.dtype) == PANDAS_DTYPES[field_type]


def conformance_problems(
    tables: Mapping[str, pd.DataFrame], dictionary: Dictionary
) -> list[Problem]:
    """Problems that make ``tables`` unusable as a StudyData (tables, columns, dtypes).

    Rules: ``missing_table``, ``unknown_table``, ``columns`` (not exactly the
    dictionary fields in dictionary order), ``dtype``.
    """
    problems: list[Problem] = []
    for name in tables:
        if name not in dictionary.tables:
            problems.append(
                Problem(
                    f"{name}.csv",
                    FILE_ROW,
                    ANY_FIELD,
                    "unknown_table",
                    name,
                    Severity.ERROR,
                    "(not a dictionary table)",
                )
            )
    for name, spec in dictionary.tables.items():
        file = spec.csv_name
        frame = tables.get(name)
        if frame is None:
            problems.append(
                Problem(
                    file,
                    FILE_ROW,
                    ANY_FIELD,
                    "missing_table",
                    "",
                    Severity.ERROR,
                    "(every dictionary table must be present)",
                    name,
                )
            )
            continue
        if not isinstance(frame, pd.DataFrame):
            problems.append(
                Problem(
                    file,
                    FILE_ROW,
                    ANY_FIELD,
                    "not_a_dataframe",
                    type(frame).__name__,
                    Severity.ERROR,
                    "",
                    name,
                )
            )
            continue
        if tuple(frame.columns) != spec.field_names:
            problems.append(
                Problem(
                    file,
                    HEADER_ROW,
                    ANY_FIELD,
                    "columns",
                    ",".join(map(str, frame.columns)),
                    Severity.ERROR,
                    "(must be " + ",".join(spec.field_names) + ")",
                    name,
                )
            )
            continue
        for fname, f in spec.fields.items():
            if not _dtype_ok(frame[fname], f.type):
                problems.append(
                    Problem(
                        file,
                        HEADER_ROW,
                        fname,
                        "dtype",
                        str(frame[fname].dtype),
                        Severity.ERROR,
                        f"(must be {PANDAS_DTYPES[f.type]})",
                        name,
                    )
                )
    return problems


@dataclass(frozen=True, eq=False)
class StudyData:
    """A study: one typed pandas DataFrame per dictionary table.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Every dictionary table, columns in dictionary order, dtypes per
        dictionary type (date ``datetime64[ns]``, integer ``Int64``, number
        ``float64``, boolean ``boolean``, string/code ``string``). Rows keep
        the order of the source file.
    dictionary : Dictionary
        The data dictionary the tables follow.
    source : str
        Where the study came from (a path, ``bundled:<name>`` or ``<memory>``).
    files : dict of str to str
        File label of each table for messages (``labs.csv``,
        ``study.xlsx[labs]``); default ``<table>.csv``.
    lines : dict of str to tuple of int
        Source line (CSV) or sheet row (XLSX) of each row, when read from a
        file; otherwise a row's number is its position + 2.

    Notes
    -----
    The dataclass is frozen but the DataFrames are not: change a copy
    (:meth:`copy`) or use :meth:`with_table`. Construction checks that every
    table is present with the right columns and dtypes.

    Examples
    --------
    >>> site = {"site_id": "TJ", "name": "Tianjin", "country": "CN"}
    >>> s = StudyData.from_records({"sites": [site]})
    >>> s["sites"]
      site_id     name country
    0      TJ  Tianjin      CN
    >>> str(s["subjects"]["birth_date"].dtype)
    'datetime64[ns]'
    >>> s.subject_ids
    ()
    """

    tables: dict[str, pd.DataFrame]
    dictionary: Dictionary = field(default_factory=load_dictionary, repr=False)
    source: str = "<memory>"
    files: dict[str, str] = field(default_factory=dict, repr=False)
    lines: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        problems = conformance_problems(self.tables, self.dictionary)
        if problems:
            raise StudyDataError(problems)

    # --- construction -------------------------------------------------------------------
    @classmethod
    def read(cls, path: str | Path, dictionary: Dictionary | None = None) -> StudyData:
        """Read a study from a CSV folder or an XLSX workbook.

        Parameters
        ----------
        path : str or Path
            A folder of ``<table>.csv`` files, or a ``.xlsx`` workbook.
        dictionary : Dictionary, optional
            Default: :func:`load_dictionary`.

        Returns
        -------
        StudyData

        Raises
        ------
        StudyDataError
            With every problem found: the path is missing or not a study,
            a required table (study, sites, arms, dose_levels, subjects) is
            absent, a column is unknown (or a required one missing), a cell is
            not of its type, a code is not in its list or a value is outside
            its hard range. Nothing is written, nothing partial is returned.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp()) / "study"
        >>> _ = StudyData.empty().write_csv(folder)
        >>> len(StudyData.read(folder).subject_ids)
        0
        """
        return _finish(read_tables(path, dictionary or load_dictionary()))

    @classmethod
    def from_records(
        cls,
        records: Mapping[str, Iterable[Mapping[str, Any]] | pd.DataFrame],
        dictionary: Dictionary | None = None,
        source: str = "<memory>",
    ) -> StudyData:
        """Build a study from Python values, parsed exactly as a reader parses cells.

        Parameters
        ----------
        records : Mapping
            Table name -> rows (mappings field -> value) or a DataFrame.
            Values may be text (``"2014-01-02"``, ``"Y"``) or Python values
            (``datetime.date``, ``True``, ``15.0``); absent fields and tables
            are empty.
        dictionary : Dictionary, optional
        source : str

        Raises
        ------
        StudyDataError
            As :meth:`read`; rows are numbered position + 2.
        """
        dictionary = dictionary or load_dictionary()
        tables: dict[str, pd.DataFrame] = {}
        files: dict[str, str] = {}
        lines: dict[str, tuple[int, ...]] = {}
        problems: list[Problem] = []
        for name in records:
            if name not in dictionary.tables:
                problems.append(
                    Problem(
                        f"{name}.csv",
                        FILE_ROW,
                        ANY_FIELD,
                        "unknown_table",
                        name,
                        Severity.ERROR,
                        "(not a dictionary table)",
                    )
                )
        for name, spec in dictionary.tables.items():
            files[name] = spec.csv_name
            rows = records.get(name)
            if rows is None:
                tables[name] = empty_frame(spec)
                lines[name] = ()
                continue
            if isinstance(rows, pd.DataFrame):
                raw_rows = [{str(k): v for k, v in r.items()} for r in rows.to_dict("records")]
            else:
                raw_rows = [dict(r) for r in rows]
            header: list[str] = list(spec.field_names)
            for r in raw_rows:
                header.extend(k for k in r if k not in header)
            raw = RawTable(
                spec,
                spec.csv_name,
                header,
                [(i + 2, [r.get(h) for h in header]) for i, r in enumerate(raw_rows)],
            )
            typed = assemble(raw)
            problems.extend(typed.problems)
            tables[name] = typed.frame
            lines[name] = typed.lines
        return _finish(ReadTables(tables, files, lines, problems, source), dictionary)

    @classmethod
    def empty(cls, dictionary: Dictionary | None = None) -> StudyData:
        """A study with every table empty."""
        dictionary = dictionary or load_dictionary()
        return cls({n: empty_frame(s) for n, s in dictionary.tables.items()}, dictionary)

    # --- access -------------------------------------------------------------------------
    def __getitem__(self, table: str) -> pd.DataFrame:
        try:
            return self.tables[table]
        except KeyError:
            raise KeyError(f"unknown table {table!r}; known: {', '.join(self.tables)}") from None

    def __contains__(self, table: object) -> bool:
        return table in self.tables

    def __repr__(self) -> str:
        counts = ", ".join(f"{n}={len(df)}" for n, df in self.tables.items() if len(df))
        return f"StudyData(source={self.source!r}, {counts or 'empty'})"

    @property
    def subject_ids(self) -> tuple[str, ...]:
        """Subject identifiers in the order of the subjects table."""
        return tuple(str(s) for s in self.tables["subjects"]["subject_id"].dropna())

    def spec(self, table: str) -> TableSpec:
        """The dictionary spec of ``table``."""
        return self.dictionary.table(table)

    def file_label(self, table: str) -> str:
        """File label of ``table`` in messages (``labs.csv`` or ``study.xlsx[labs]``)."""
        return self.files.get(table) or self.dictionary.table(table).csv_name

    def row_number(self, table: str, position: int) -> int:
        """Line/sheet row of the row at ``position`` (source line if known, else position + 2)."""
        lines = self.lines.get(table)
        if lines is not None and len(lines) == len(self.tables[table]):
            return lines[position]
        return position + 2

    def copy(self) -> StudyData:
        """A deep copy (tables copied; changing it leaves this study alone)."""
        return StudyData(
            {n: df.copy(deep=True) for n, df in self.tables.items()},
            self.dictionary,
            self.source,
            dict(self.files),
            dict(self.lines),
        )

    def with_table(self, table: str, frame: pd.DataFrame) -> StudyData:
        """A new study with ``table`` replaced by ``frame`` (checked; its rows renumbered)."""
        self.dictionary.table(table)
        tables = dict(self.tables)
        tables[table] = frame
        lines = {n: v for n, v in self.lines.items() if n != table}
        return StudyData(tables, self.dictionary, self.source, dict(self.files), lines)

    def canonical(self) -> StudyData:
        """The same study with every table's rows sorted by key (the writers' order)."""
        tables = {}
        for name, frame in self.tables.items():
            spec = self.dictionary.tables[name]
            order = sorted_positions(frame, spec, _text_columns(frame, spec))
            tables[name] = frame.iloc[order].reset_index(drop=True)
        return StudyData(tables, self.dictionary, self.source, dict(self.files), {})

    # --- writing ------------------------------------------------------------------------
    def csv_files(self) -> dict[str, bytes]:
        """The canonical CSV file of every table: file name -> bytes."""
        _check(self)
        return {
            spec.csv_name: csv_bytes(self.tables[name], spec)
            for name, spec in self.dictionary.tables.items()
        }

    def write_csv(self, folder: str | Path, overwrite: bool = False) -> Path:
        """Write one canonical CSV per table into ``folder``, all or nothing.

        The files are written to a temporary folder beside ``folder`` and renamed
        into place. A non-empty existing ``folder`` is refused unless
        ``overwrite=True``; then it is replaced as a whole (its other files, e.g.
        ``PROVENANCE.md``, are kept) - see :mod:`saatrial.atomic`.

        Returns
        -------
        Path
            ``folder``.
        """
        return write_folder_atomic(Path(folder), self.csv_files(), overwrite=overwrite)

    def write_xlsx(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write one XLSX workbook (a sheet per table), via a temporary file and a rename.

        An existing ``path`` is refused unless ``overwrite=True``; then it is
        replaced atomically.
        """
        _check(self)
        target = Path(path)
        if target.suffix.lower() not in XLSX_SUFFIXES:
            raise ValueError(f"{target}: an XLSX workbook needs a .xlsx suffix")
        return write_file_atomic(
            target, lambda tmp: write_xlsx_file(self.tables, self.dictionary, tmp), overwrite
        )


def _check(study: StudyData) -> None:
    problems = conformance_problems(study.tables, study.dictionary)
    if problems:
        raise StudyDataError(problems)


def read_tables(path: str | Path, dictionary: Dictionary) -> ReadTables:
    """Read a CSV folder or XLSX workbook into complete typed tables plus all problems.

    Never raises for bad data and never writes; :meth:`StudyData.read` raises
    when there are problems, ``validate_path`` reports them.
    """
    path = Path(path)
    source = str(path)
    if path.is_dir():
        return read_csv_folder(path, dictionary, source)
    if path.suffix.lower() in XLSX_SUFFIXES and path.is_file():
        return read_xlsx(path, dictionary, source)
    empty = {n: empty_frame(s) for n, s in dictionary.tables.items()}
    if not path.exists():
        problem = Problem(
            path.name or source,
            FILE_ROW,
            ANY_FIELD,
            "not_found",
            source,
            Severity.ERROR,
            "(a folder of CSV files or an .xlsx workbook)",
        )
    else:
        problem = Problem(
            path.name,
            FILE_ROW,
            ANY_FIELD,
            "format",
            path.suffix,
            Severity.ERROR,
            "(a folder of CSV files or an .xlsx workbook)",
        )
    return ReadTables(empty, {}, {}, [problem], source)


def study_from_tables(read: ReadTables, dictionary: Dictionary) -> StudyData:
    """A StudyData from reader output, whatever its problems (for validation)."""
    return StudyData(read.tables, dictionary, read.source, read.files, read.lines)


def _finish(read: ReadTables, dictionary: Dictionary | None = None) -> StudyData:
    from saatrial.study.checks import run_read_checks

    dictionary = dictionary or load_dictionary()
    study = study_from_tables(read, dictionary)
    # all problems at once: cells that did not parse are NA here and raise nothing more
    problems = [*read.problems, *run_read_checks(study)]
    if problems:
        raise StudyDataError(problems)
    return study


def bundled_folder(name: str = "nct02218437") -> Any:
    """The package-data folder of a bundled study (a Traversable)."""
    return resources.files(BUNDLED_PACKAGE).joinpath(BUNDLED_FOLDER, name)


def load_bundled_study(
    name: str = "nct02218437", dictionary: Dictionary | None = None
) -> StudyData:
    """Load a study shipped inside the package (``saatrial/study/bundled/<name>/``).

    Parameters
    ----------
    name : str
        Bundled study name; default the paper's trial ``nct02218437``.

    Returns
    -------
    StudyData
        With ``source == "bundled:<name>"``.

    Raises
    ------
    FileNotFoundError
        No such bundled study.
    StudyDataError
        The bundled files do not read cleanly (a packaging bug).

    Examples
    --------
    >>> study = load_bundled_study()
    >>> study.source, len(study.subject_ids)
    ('bundled:nct02218437', 18)
    """
    folder = bundled_folder(name)
    if not folder.is_dir() or not any(e.name.endswith(".csv") for e in folder.iterdir()):
        root = resources.files(BUNDLED_PACKAGE).joinpath(BUNDLED_FOLDER)
        known = sorted(e.name for e in root.iterdir() if e.is_dir()) if root.is_dir() else []
        raise FileNotFoundError(
            f"no bundled study {name!r} (bundled: {', '.join(known) or 'none'})"
        )
    dictionary = dictionary or load_dictionary()
    return _finish(read_csv_folder(folder, dictionary, f"bundled:{name}"), dictionary)
