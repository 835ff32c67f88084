"""Data problems: one located finding in a study, and the error that carries them.

Every problem prints as ``<file>:<row>: <field>: <rule>: <value>``, e.g.
``labs.csv:14: value: hard_range [0, 100]: 250``, so that a study coordinator
can find and fix it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Problem", "Severity", "StudyDataError"]

#: Row number used for a problem about a whole file (missing, unreadable).
FILE_ROW = 0
#: Row number used for a problem about the header or the table as a whole.
HEADER_ROW = 1
#: Field name used for a problem about a whole row or table.
ANY_FIELD = "*"


class Severity(StrEnum):
    """How bad a problem is: an error refuses the data, a warning asks a question."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One located problem in study data.

    Attributes
    ----------
    file : str
        File label: the CSV name (``labs.csv``) or ``workbook.xlsx[labs]``.
    row : int
        Line number: header = 1, first data row = 2; 0 = the whole file.
    field : str
        Field name, or ``*`` for the whole row/table.
    rule : str
        Stable rule name (``hard_range``, ``references``, ``before_consent`` ...).
    value : str
        The offending value as text (empty when missing).
    severity : Severity
        ``error`` or ``warning``.
    detail : str
        Rule parameters printed after the rule name (``[0, 100]``).
    table : str
        Dictionary table the problem belongs to ('' if none).

    Examples
    --------
    >>> p = Problem("labs.csv", 14, "value", "hard_range", "250", Severity.ERROR, "[0, 100]")
    >>> str(p)
    'labs.csv:14: value: hard_range [0, 100]: 250'
    >>> p.is_error
    True
    """

    file: str
    row: int
    field: str
    rule: str
    value: str
    severity: Severity = Severity.ERROR
    detail: str = ""
    table: str = ""

    @property
    def rule_text(self) -> str:
        """Rule name followed by its parameters."""
        return f"{self.rule} {self.detail}" if self.detail else self.rule

    @property
    def is_error(self) -> bool:
        """True for a hard error."""
        return self.severity is Severity.ERROR

    @property
    def location(self) -> tuple[str, int, str]:
        """``(file, row, field)``."""
        return (self.file, self.row, self.field)

    def __str__(self) -> str:
        return f"{self.file}:{self.row}: {self.field}: {self.rule_text}: {self.value}"


class StudyDataError(ValueError):
    """Study data could not be read or built; carries every problem found.

    ``str(err)`` is one ``file:row: field: rule: value`` line per problem.

    Examples
    --------
    >>> err = StudyDataError([Problem("subjects.csv", 3, "sex", "codes", "X", detail="{M, F}")])
    >>> print(err)
    subjects.csv:3: sex: codes {M, F}: X
    >>> len(err.problems)
    1
    """

    def __init__(self, problems: Iterable[Problem]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid study data")

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems of severity error."""
        return tuple(p for p in self.problems if p.is_error)
