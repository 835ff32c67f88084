"""Validate a study against the data dictionary, the cross-table rules and its protocol.

:func:`validate` runs every rule of :data:`saatrial.study.checks.RULES` on a
:class:`StudyData`; :func:`validate_path` reads a CSV folder or XLSX workbook
first and reports read problems together with rule problems (it never raises
for bad data). Hard errors make a study unusable; warnings ask a question.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from saatrial.study.checks import RULES, Context, Rule, run_checks
from saatrial.study.data import StudyData, conformance_problems, read_tables, study_from_tables
from saatrial.study.dictionary import Dictionary, load_dictionary
from saatrial.study.problems import FILE_ROW, HEADER_ROW, Problem, Severity

if TYPE_CHECKING:
    from saatrial.protocol import Protocol

__all__ = ["ValidationReport", "validate", "validate_path"]

#: Read problems that leave nothing to validate.
_UNREADABLE = frozenset({"not_found", "format", "unreadable"})


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating a study.

    Attributes
    ----------
    problems : tuple of Problem
        Every problem, ordered by table (dictionary order) and row.
    source : str
        What was validated (path or study source).

    Examples
    --------
    >>> from saatrial.study.problems import Problem, Severity
    >>> r = ValidationReport((Problem("labs.csv", 3, "value", "soft_range", "40",
    ...                               Severity.WARNING, "[0, 30]"),), "demo")
    >>> r.ok, len(r.errors), len(r.warnings)
    (True, 0, 1)
    >>> r.summary()
    '0 errors, 1 warning in demo'
    """

    problems: tuple[Problem, ...]
    source: str = ""

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Problems of severity error."""
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Problems of severity warning."""
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        """True when there is no hard error (warnings allowed)."""
        return not self.errors

    def summary(self) -> str:
        """``N errors, M warnings in <source>``."""
        n, m = len(self.errors), len(self.warnings)
        return (
            f"{n} error{'' if n == 1 else 's'}, {m} warning{'' if m == 1 else 's'} in {self.source}"
        )

    def __str__(self) -> str:
        return "\n".join([*(str(p) for p in self.problems), self.summary()])


def _order(problems: list[Problem], dictionary: Dictionary) -> tuple[Problem, ...]:
    index = {name: i for i, name in enumerate(dictionary.tables)}
    return tuple(sorted(problems, key=lambda p: (index.get(p.table, -1), p.file, p.row)))


def _protocol(study: StudyData) -> tuple[Protocol | None, str | None]:
    from saatrial.protocol import load_protocol

    frame = study.tables["study"]
    if len(frame) == 0:
        return None, None
    protocol_id = frame["protocol_id"].iloc[0]
    if protocol_id is None or not isinstance(protocol_id, str):
        return None, None  # reported by `required`
    try:
        return load_protocol(protocol_id), None
    except FileNotFoundError as err:
        return None, str(err)


def validate(
    study: StudyData, protocol: Protocol | None = None, rules: tuple[Rule, ...] = RULES
) -> ValidationReport:
    """Check a study against every rule.

    Parameters
    ----------
    study : StudyData
        The study.
    protocol : Protocol, optional
        Default: ``load_protocol(study.protocol_id)`` from the study table; if
        it cannot be loaded, ``protocol_not_found`` is reported and the
        protocol rules are skipped.
    rules : tuple of Rule
        Default: the whole registry :data:`~saatrial.study.checks.RULES`.

    Returns
    -------
    ValidationReport
        ``ok`` is False when any hard error is found.

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> validate(load_bundled_study()).ok
    True
    >>> report = validate(StudyData.empty())
    >>> [str(p) for p in report.errors]
    ['study.csv:1: *: one_row (exactly one study row): 0 rows']
    """
    shape = conformance_problems(study.tables, study.dictionary)
    if shape:  # tables changed in place into something no rule can read
        return ValidationReport(tuple(shape), study.source)
    error = None
    if protocol is None:
        protocol, error = _protocol(study)
    problems = run_checks(Context(study, protocol, error), rules)
    return ValidationReport(_order(problems, study.dictionary), study.source)


def validate_path(
    path: str | Path, protocol: Protocol | None = None, dictionary: Dictionary | None = None
) -> ValidationReport:
    """Read a CSV folder or XLSX workbook and validate it; never raises for bad data.

    Read problems (missing table, unknown column, bad date, unknown code, hard
    range ...) are reported together with the problems of every other rule,
    which run on the rest of the data (a cell that did not parse counts as
    empty; a problem at the same file/row/field as a read problem, or in a
    column or file the reader refused, is not reported twice).

    Parameters
    ----------
    path : str or Path
        A folder of ``<table>.csv`` files or an ``.xlsx`` workbook.
    protocol : Protocol, optional
        As for :func:`validate`.
    dictionary : Dictionary, optional
        Default: :func:`load_dictionary`.

    Returns
    -------
    ValidationReport

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from saatrial.study import load_bundled_study
    >>> folder = load_bundled_study().write_csv(pathlib.Path(tempfile.mkdtemp()) / "copy")
    >>> validate_path(folder).ok
    True
    >>> [str(p) for p in validate_path(folder / "nowhere").problems]  # doctest: +ELLIPSIS
    ['nowhere:0: *: not_found (a folder of CSV files or an .xlsx workbook): .../nowhere']
    """
    dictionary = dictionary or load_dictionary()
    read = read_tables(path, dictionary)
    read_problems = list(read.problems)
    if any(p.rule in _UNREADABLE for p in read_problems):
        return ValidationReport(tuple(read_problems), str(path))
    study = study_from_tables(read, dictionary)
    report = validate(study, protocol)
    cells = {p.location for p in read_problems}
    columns = {(p.file, p.field) for p in read_problems if p.row == HEADER_ROW}
    files = {p.file for p in read_problems if p.row == FILE_ROW}
    rest = [
        p
        for p in report.problems
        if p.location not in cells and (p.file, p.field) not in columns and p.file not in files
    ]
    return ValidationReport(_order(read_problems + rest, dictionary), str(path))
