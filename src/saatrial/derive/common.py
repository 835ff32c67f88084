"""Pieces every analysis dataset shares: column specs, notes, study days, CSV text.

An analysis dataset is a pandas DataFrame whose columns are declared once, in
order, as :class:`Column` specs (name, kind, label). :func:`build_frame` turns a
list of row dicts into a frame with exactly those columns and the dtypes of
their kind, so every dataset has the same in-memory shape as ``StudyData``:

========= ======================= =============================================
kind      dtype                   CSV text
========= ======================= =============================================
``text``  ``string``              as is
``flag``  ``string`` (``Y``/``N``) as is
``date``  ``datetime64[ns]``      ``YYYY-MM-DD``
``int``   ``Int64``               plain integer
``float`` ``float64``             ``format(x, ".10g")``
========= ======================= =============================================

Missing values are ``NA`` in memory and empty in CSV.

Study days follow CDISC (``ADY``, ``ASTDY``): day 1 is ``TRTSDT`` (the first
rATG dose, D7), the day before it is day -1, and there is no day 0.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from saatrial.rules.types import is_missing

if TYPE_CHECKING:
    from saatrial.derive.context import SubjectInfo

__all__ = [
    "KINDS",
    "SUBJECT_ID_COLUMNS",
    "Column",
    "Derived",
    "Note",
    "build_frame",
    "cdisc_study_day",
    "flag",
    "frame_csv_bytes",
    "join_text",
    "subject_identifiers",
]

KINDS = ("text", "flag", "date", "int", "float")
_DTYPES = {
    "text": "string",
    "flag": "string",
    "date": "datetime64[ns]",
    "int": "Int64",
    "float": "float64",
}


@dataclass(frozen=True)
class Column:
    """One column of an analysis dataset.

    Attributes
    ----------
    name : str
        Variable name (CDISC ADaM name where one fits).
    kind : str
        ``text``, ``flag``, ``date``, ``int`` or ``float``.
    label : str
        Variable label (with the unit for measurements), for exports.
    """

    name: str
    kind: str
    label: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name}: kind: one of {KINDS}: {self.kind!r}")


@dataclass(frozen=True)
class Note:
    """Something a derivation could not do, or a finding worth reporting.

    Attributes
    ----------
    dataset : str
        ``ADSL``, ``ADLB``, ``ADRS``, ``ADTTE``, ``ADAE`` or ``STUDY``.
    subject_id : str or None
        The subject concerned (``None`` = the whole study).
    message : str
        What and why, in one line.

    Examples
    --------
    >>> str(Note("ADTTE", "S1", "no first rATG dose (TRTSDT): excluded"))
    'ADTTE: S1: no first rATG dose (TRTSDT): excluded'
    """

    dataset: str
    subject_id: str | None
    message: str

    def __str__(self) -> str:
        who = f"{self.subject_id}: " if self.subject_id else ""
        return f"{self.dataset}: {who}{self.message}"


@dataclass(frozen=True, eq=False)
class Derived:
    """A derived dataset with the notes its derivation produced."""

    frame: pd.DataFrame
    notes: tuple[Note, ...] = ()


#: The identifier columns that lead ADLB, ADRS, ADTTE and ADAE (ADSL has its own:
#: ``SITEID``, ``ARM``, ``TRT01P``); :func:`subject_identifiers` gives their values.
SUBJECT_ID_COLUMNS: tuple[Column, ...] = (
    Column("STUDYID", "text", "Study Identifier"),
    Column("USUBJID", "text", "Unique Subject Identifier"),
    Column("SUBJID", "text", "Subject Identifier for the Study"),
    Column("ARMCD", "text", "Planned Arm Code"),
    Column("TRTP", "text", "Planned Treatment"),
)


def subject_identifiers(studyid: str, subject: SubjectInfo) -> dict[str, Any]:
    """The :data:`SUBJECT_ID_COLUMNS` values of one subject (planned arm as ``TRTP``).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> s = SimpleNamespace(usubjid="S-01", subject_id="01", arm_id="MSC", arm_label="UC-MSC")
    >>> subject_identifiers("S", s)  # doctest: +NORMALIZE_WHITESPACE
    {'STUDYID': 'S', 'USUBJID': 'S-01', 'SUBJID': '01', 'ARMCD': 'MSC', 'TRTP': 'UC-MSC'}
    """
    return {
        "STUDYID": studyid,
        "USUBJID": subject.usubjid,
        "SUBJID": subject.subject_id,
        "ARMCD": subject.arm_id,
        "TRTP": subject.arm_label,
    }


def flag(value: bool | None) -> str | None:
    """``True`` -> ``"Y"``, ``False`` -> ``"N"``, ``None`` -> ``None`` (blank).

    Examples
    --------
    >>> flag(True), flag(False), flag(None)
    ('Y', 'N', None)
    """
    if value is None:
        return None
    return "Y" if value else "N"


def cdisc_study_day(on: date | None, day1: date | None) -> int | None:
    """CDISC study day of a date: day 1 = ``day1``, the day before = -1, no day 0.

    Parameters
    ----------
    on : datetime.date or None
        The date.
    day1 : datetime.date or None
        Study day 1 (``TRTSDT``, first rATG dose, D7).

    Returns
    -------
    int or None
        ``None`` when either date is missing.

    Examples
    --------
    >>> cdisc_study_day(date(2014, 1, 1), date(2014, 1, 1))
    1
    >>> cdisc_study_day(date(2013, 12, 31), date(2014, 1, 1))
    -1
    >>> cdisc_study_day(date(2014, 2, 9), date(2014, 1, 1))
    40
    """
    if on is None or day1 is None:
        return None
    n = (on - day1).days
    return n + 1 if n >= 0 else n


def join_text(parts: Iterable[str], sep: str = "; ") -> str | None:
    """Join non-empty texts; ``None`` when there are none.

    Examples
    --------
    >>> join_text(["a", "", "b"]), join_text([])
    ('a; b', None)
    """
    kept = [p for p in parts if p]
    return sep.join(kept) if kept else None


def _cell(value: Any, kind: str) -> Any:
    if value is None or is_missing(value):
        return None
    if kind == "date":
        return pd.Timestamp(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "flag" and value not in ("Y", "N"):
        raise ValueError(f"flag value must be 'Y' or 'N': {value!r}")
    return str(value)


def build_frame(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> pd.DataFrame:
    """A DataFrame with exactly ``columns`` (in order, typed by kind) from row dicts.

    Parameters
    ----------
    rows : sequence of mappings
        Column name -> value; absent names are missing. A name that is not a
        column is a programming error and raises.
    columns : sequence of Column

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> cols = [Column("USUBJID", "text", "Subject"), Column("AVAL", "float", "Value")]
    >>> df = build_frame([{"USUBJID": "S1", "AVAL": 1}, {"USUBJID": "S2"}], cols)
    >>> df["AVAL"].tolist(), str(df["USUBJID"].dtype)
    ([1.0, nan], 'string')
    """
    names = [c.name for c in columns]
    known = set(names)
    for i, row in enumerate(rows):
        unknown = set(row) - known
        if unknown:
            raise KeyError(f"row {i}: unknown column(s) {sorted(unknown)}")
    data: dict[str, pd.Series] = {}
    for col in columns:
        values = [_cell(row.get(col.name), col.kind) for row in rows]
        if col.kind == "date":
            data[col.name] = pd.Series(
                [pd.NaT if v is None else v for v in values], dtype="datetime64[ns]"
            )
        elif col.kind == "float":
            data[col.name] = pd.Series(
                [math.nan if v is None else v for v in values], dtype="float64"
            )
        else:
            data[col.name] = pd.Series(
                [pd.NA if v is None else v for v in values], dtype=_DTYPES[col.kind]
            )
    return pd.DataFrame(data, columns=names)


def _text(value: Any, kind: str) -> str:
    if value is None or is_missing(value):
        return ""
    if kind == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if kind == "int":
        return str(int(value))
    if kind == "float":
        return format(float(value), ".10g")
    return str(value)


def frame_csv_bytes(frame: pd.DataFrame, columns: Sequence[Column]) -> bytes:
    """CSV bytes of a dataset: UTF-8, ``\\n``, comma, minimal quoting, header row.

    Dates ``YYYY-MM-DD``, integers plain, numbers ``format(x, ".10g")``, missing
    empty (the canonical format of the study CSVs).

    Examples
    --------
    >>> cols = [Column("USUBJID", "text", "Subject"), Column("AVAL", "float", "Value")]
    >>> frame_csv_bytes(build_frame([{"USUBJID": "S1", "AVAL": 0.07}], cols), cols)
    b'USUBJID,AVAL\\nS1,0.07\\n'
    """
    if list(frame.columns) != [c.name for c in columns]:
        raise ValueError(
            f"frame columns {list(frame.columns)} differ from the dataset's "
            f"{[c.name for c in columns]}"
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([c.name for c in columns])
    kinds = [c.kind for c in columns]
    for row in frame.itertuples(index=False, name=None):
        writer.writerow([_text(v, k) for v, k in zip(row, kinds, strict=True)])
    return out.getvalue().encode("utf-8")
