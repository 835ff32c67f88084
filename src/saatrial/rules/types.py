"""Small shared types and helpers of the clinical rules.

Everything in :mod:`saatrial.rules` takes plain values (or pandas DataFrames
with the data dictionary's column names) and returns frozen result objects.
This module holds the few pieces several rules share: date coercion, the
missing-value test, strict/inclusive comparisons that are safe against binary
floating-point noise, and the loader of the versioned rule tables (YAML files
with ``version`` and ``source``) that ship inside the package.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import yaml

DateLike: TypeAlias = date | datetime | pd.Timestamp | np.datetime64 | str
"""Anything :func:`to_date` accepts: a date, a timestamp or an ISO ``YYYY-MM-DD`` string."""

#: Decimal places that derived differences are rounded to before a threshold
#: comparison, so that e.g. 35.4 - 5.4 compares as exactly 30 (D1 boundaries).
DECIMALS = 9


class RuleTableError(ValueError):
    """A rule table (YAML under ``saatrial/rules``) is missing or malformed."""


def is_missing(value: Any) -> bool:
    """True for ``None``, ``pd.NA``, ``NaT`` and float NaN.

    Examples
    --------
    >>> is_missing(None), is_missing(float("nan")), is_missing(pd.NA), is_missing(0.0)
    (True, True, True, False)
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return False


def to_date(value: DateLike, what: str = "date") -> date:
    """Coerce a date-like value to :class:`datetime.date`.

    Parameters
    ----------
    value : date, datetime, pandas.Timestamp, numpy.datetime64 or str
        ISO strings must be ``YYYY-MM-DD``.
    what : str
        Name of the value, used in the error message.

    Returns
    -------
    datetime.date

    Raises
    ------
    ValueError
        If the value is missing or not a date, naming ``what``.

    Examples
    --------
    >>> to_date("2014-03-01")
    datetime.date(2014, 3, 1)
    >>> to_date(pd.Timestamp("2014-03-01 00:00"))
    datetime.date(2014, 3, 1)
    """
    if is_missing(value):
        raise ValueError(f"{what}: required: missing")
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{what}: date YYYY-MM-DD: {value!r}") from None
    raise ValueError(f"{what}: date: {value!r}")


def to_optional_date(value: DateLike | None, what: str = "date") -> date | None:
    """Like :func:`to_date` but returns ``None`` for a missing value.

    Examples
    --------
    >>> to_optional_date(None) is None
    True
    """
    if is_missing(value):
        return None
    return to_date(value, what)  # type: ignore[arg-type]


def optional_float(value: Any, what: str) -> float | None:
    """A number or ``None`` for missing; anything else is a clear error.

    Examples
    --------
    >>> optional_float(3, "ANC"), optional_float(None, "ANC")
    (3.0, None)
    """
    if is_missing(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what}: number: {value!r}")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: number: {value!r}") from None
    if math.isnan(result):
        return None
    return result


def optional_bool(value: Any, what: str) -> bool | None:
    """A boolean from ``True``/``False``/``"Y"``/``"N"``; ``None`` for missing.

    Examples
    --------
    >>> optional_bool("Y", "flag"), optional_bool(False, "flag"), optional_bool(None, "flag")
    (True, False, None)
    """
    if is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().upper()
        if text in {"Y", "YES", "TRUE"}:
            return True
        if text in {"N", "NO", "FALSE"}:
            return False
        if text == "":
            return None
    raise ValueError(f"{what}: boolean Y/N: {value!r}")


def lt(value: float, threshold: float) -> bool:
    """Strict ``value < threshold`` after rounding away binary noise (D1).

    Examples
    --------
    >>> lt(0.5, 0.5), lt(0.49, 0.5)
    (False, True)
    """
    return round(value, DECIMALS) < round(threshold, DECIMALS)


def gt(value: float, threshold: float) -> bool:
    """Strict ``value > threshold`` after rounding away binary noise (D1).

    Examples
    --------
    >>> gt(35.4 - 5.4, 30.0)
    False
    """
    return round(value, DECIMALS) > round(threshold, DECIMALS)


def le(value: float, threshold: float) -> bool:
    """Inclusive ``value <= threshold`` after rounding away binary noise.

    Examples
    --------
    >>> le(0.1 * 3, 0.3)
    True
    """
    return round(value, DECIMALS) <= round(threshold, DECIMALS)


def ge(value: float, threshold: float) -> bool:
    """Inclusive ``value >= threshold`` after rounding away binary noise.

    Examples
    --------
    >>> ge(110.0, 110)
    True
    """
    return round(value, DECIMALS) >= round(threshold, DECIMALS)


def load_rule_table(folder: str, name: str | Path) -> dict[str, Any]:
    """Load a versioned rule table shipped under ``saatrial/rules/<folder>/``.

    Parameters
    ----------
    folder : str
        ``"criteria"`` (response criteria sets) or ``"tables"`` (reference tables).
    name : str or pathlib.Path
        Table name without ``.yaml`` (e.g. ``"cn-peds-2014"``), or a path to a YAML
        file outside the package (a local table).

    Returns
    -------
    dict
        The parsed YAML. It always has ``version`` and ``source``.

    Raises
    ------
    RuleTableError
        If the file does not exist, is not a mapping, or lacks ``version``/``source``.

    Examples
    --------
    >>> load_rule_table("tables", "severity-camitta")["version"]
    '1.0.0'
    """
    path = Path(name)
    if path.suffix in {".yaml", ".yml"} and path.is_file():
        label = str(path)
        text = path.read_text(encoding="utf-8")
    else:
        res = resources.files("saatrial.rules").joinpath(folder, f"{name}.yaml")
        label = f"saatrial/rules/{folder}/{name}.yaml"
        if not res.is_file():
            available = sorted(
                p.name.removesuffix(".yaml")
                for p in resources.files("saatrial.rules").joinpath(folder).iterdir()
                if p.name.endswith(".yaml")
            )
            raise RuleTableError(f"{label}: no such rule table (available: {available})")
        text = res.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleTableError(f"{label}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise RuleTableError(f"{label}: top level must be a mapping")
    for key in ("version", "source"):
        if not data.get(key):
            raise RuleTableError(f"{label}: {key}: required: missing")
    data["version"] = str(data["version"])
    data.setdefault("_label", label)
    return data
