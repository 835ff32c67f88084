"""Cell values: parse text or spreadsheet cells into typed values, and format them back.

One parser serves every source (CSV text, XLSX cells, Python records) so that
a value means the same wherever it came from. The canonical text form (what
the writers produce) is:

=========  ====================================  =====================
type       canonical text                        in memory (pandas)
=========  ====================================  =====================
date       ``YYYY-MM-DD``                        ``datetime64[ns]``
integer    plain digits (``-3``, ``12``)         ``Int64``
number     ``format(x, ".10g")``                 ``float64``
boolean    ``Y`` / ``N``                         ``boolean``
string     as is                                 ``string``
code       as is                                 ``string``
=========  ====================================  =====================

Missing values are empty text in files and NA in memory. Readers also accept
``YYYY-MM-DD 00:00:00``, ``yes``/``no``/``true``/``false`` (any case), ``3.0``
for an integer, surrounding blanks around non-string values, and native
spreadsheet types (date cells, numbers, booleans).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from saatrial.study.dictionary import FieldSpec

__all__ = [
    "MISSING",
    "PANDAS_DTYPES",
    "CellError",
    "build_column",
    "format_number",
    "format_value",
    "is_missing",
    "parse_cell",
]

#: pandas dtype of each dictionary type (common.md conventions).
PANDAS_DTYPES: dict[str, str] = {
    "date": "datetime64[ns]",
    "integer": "Int64",
    "number": "float64",
    "boolean": "boolean",
    "string": "string",
    "code": "string",
}

#: What each type must look like, for messages (``type date (YYYY-MM-DD)``).
TYPE_HINTS: dict[str, str] = {
    "date": "date (YYYY-MM-DD)",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean (Y/N)",
    "string": "string",
    "code": "code",
}

MISSING: Any = None

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$")
_INT_RE = re.compile(r"^[+-]?\d+(?:\.0*)?$")
_NUM_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_MIN_YEAR, _MAX_YEAR = 1678, 2261
_TRUE = frozenset({"Y", "YES", "TRUE"})
_FALSE = frozenset({"N", "NO", "FALSE"})


class CellError(ValueError):
    """A cell that does not parse as its field's type."""

    def __init__(self, field_type: str, value: Any):
        self.field_type = field_type
        self.value = value
        super().__init__(f"not a valid {TYPE_HINTS[field_type]}: {value!r}")

    @property
    def hint(self) -> str:
        """What the value should look like."""
        return TYPE_HINTS[self.field_type]


def is_missing(value: Any) -> bool:
    """True for None, NA, NaN, NaT and blank text.

    Examples
    --------
    >>> [is_missing(v) for v in (None, "", "  ", float("nan"), pd.NA, "0", 0)]
    [True, True, True, True, True, False, False]
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, np.floating):
        return bool(np.isnan(value))
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    return False


def format_number(value: float) -> str:
    """Canonical text of a number: ``format(x, ".10g")``.

    Examples
    --------
    >>> [format_number(x) for x in (15, 0.07, 15000000.0, 1e12, 2.5)]
    ['15', '0.07', '15000000', '1e+12', '2.5']
    """
    return format(float(value), ".10g")


def _number_text(value: Any) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, int | np.integer):
        return str(int(value))
    return format_number(float(value))


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0, 0):
            raise CellError("date", value)
        return _parse_date(value.date())
    if isinstance(value, dt.date):
        if not _MIN_YEAR <= value.year <= _MAX_YEAR:
            raise CellError("date", value)
        return value
    if isinstance(value, np.datetime64):
        return _parse_date(pd.Timestamp(value).to_pydatetime())
    if isinstance(value, str):
        m = _DATE_RE.match(value.strip())
        if m:
            year = int(m.group(1))
            # dates must fit pandas' datetime64[ns] (years 1678-2261)
            if _MIN_YEAR <= year <= _MAX_YEAR:
                try:
                    return dt.date(year, int(m.group(2)), int(m.group(3)))
                except ValueError:
                    pass
    raise CellError("date", value)


def _parse_integer(value: Any) -> int:
    if isinstance(value, bool | np.bool_):
        raise CellError("integer", value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if math.isfinite(value) and float(value).is_integer():
            return int(value)
        raise CellError("integer", value)
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        return int(value.strip().split(".")[0])
    raise CellError("integer", value)


def _parse_number(value: Any) -> float:
    if isinstance(value, bool | np.bool_):
        raise CellError("number", value)
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    elif isinstance(value, str) and _NUM_RE.match(value.strip()):
        number = float(value.strip())
    else:
        raise CellError("number", value)
    if not math.isfinite(number):
        raise CellError("number", value)
    return number


def _parse_boolean(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().upper()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise CellError("boolean", value)


def _parse_text(value: Any, strip: bool) -> str:
    if isinstance(value, str):
        return value.strip() if strip else value
    if isinstance(value, dt.datetime) and value.time() == dt.time(0, 0):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | np.integer | np.floating | bool):
        return _number_text(value)
    return str(value)


def parse_cell(spec: FieldSpec, value: Any) -> Any:
    """Parse one cell into its field's Python value, or ``None`` when missing.

    Parameters
    ----------
    spec : FieldSpec
        The field.
    value : object
        Text from a CSV, a spreadsheet cell value, or a Python value.

    Returns
    -------
    datetime.date, int, float, bool, str or None

    Raises
    ------
    CellError
        The value is not of the field's type. Code membership and ranges are
        checked by validation rules, not here.

    Examples
    --------
    >>> from saatrial.study.dictionary import load_dictionary
    >>> d = load_dictionary()
    >>> parse_cell(d.field("subjects", "birth_date"), "2010-03-01")
    datetime.date(2010, 3, 1)
    >>> parse_cell(d.field("subjects", "weight_kg"), " 15.5 ")
    15.5
    >>> parse_cell(d.field("screening", "hla_matched_sibling"), "n")
    False
    >>> parse_cell(d.field("subjects", "weight_kg"), "")
    >>> parse_cell(d.field("subjects", "birth_date"), "01/03/2010")
    Traceback (most recent call last):
    ...
    saatrial.study.values.CellError: not a valid date (YYYY-MM-DD): '01/03/2010'
    """
    if is_missing(value):
        return MISSING
    kind = spec.type
    if kind == "date":
        return _parse_date(value)
    if kind == "integer":
        return _parse_integer(value)
    if kind == "number":
        return _parse_number(value)
    if kind == "boolean":
        return _parse_boolean(value)
    return _parse_text(value, strip=(kind == "code"))


def build_column(
    field_type: str, values: Sequence[Any]
) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """Typed column (per :data:`PANDAS_DTYPES`) from parsed values (``None`` = missing)."""
    if field_type == "date":
        days = np.array(
            [np.datetime64("NaT") if v is None else np.datetime64(v, "D") for v in values],
            dtype="datetime64[D]",
        )
        return days.astype("datetime64[ns]")
    if field_type == "number":
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    return pd.array(list(values), dtype=PANDAS_DTYPES[field_type])  # type: ignore[call-overload]


def format_value(field_type: str, value: Any) -> str:
    """Canonical text of an in-memory value ('' when missing).

    Examples
    --------
    >>> format_value("date", pd.Timestamp("2014-03-01"))
    '2014-03-01'
    >>> format_value("number", 15000000.0), format_value("boolean", True)
    ('15000000', 'Y')
    >>> format_value("integer", pd.NA)
    ''
    """
    if is_missing(value):
        return ""
    if field_type == "date":
        if isinstance(value, dt.datetime | pd.Timestamp):
            return value.strftime("%Y-%m-%d")
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)
    if field_type == "number":
        if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool
        ):
            return format_number(float(value))
        return str(value)
    if field_type == "integer":
        if isinstance(value, int | np.integer | float | np.floating):
            return str(int(value))
        return str(value)
    if field_type == "boolean":
        if isinstance(value, bool | np.bool_):
            return "Y" if value else "N"
        return str(value)
    return str(value)
