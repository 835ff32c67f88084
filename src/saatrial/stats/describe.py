"""Descriptive summaries formatted the way medical journals print them.

``summarize`` turns a vector into a :class:`Summary` (n, mean, SD, median,
quartiles, range, missing count); ``mean_sd``, ``median_range`` and
``median_iqr`` print it ("12.3 ± 4.5", "4 (1–10)", "4 (2–7)");
``n_percent`` prints a count with its percentage ("4 (44%)") and
``count_table`` cross-tabulates categories by group as n (%).

Formatting rules (tested in ``tests/stats/test_describe.py``):

* Rounding is half away from zero on the shortest decimal representation of
  the number (``2.675`` -> ``"2.68"``, ``12.5`` -> ``"13"``), as a reader
  rounding by hand expects; Python's ``round`` (half to even, binary
  representation) is not used.
* ``digits=None`` prints a value "as recorded": up to 12 significant digits,
  trailing zeros dropped, never in exponent notation (``0.0`` -> ``"0"``,
  ``0.36`` -> ``"0.36"``). ``digits=k`` prints exactly ``k`` decimals.
* Ranges use an en dash (``"1–10"``); when either bound is negative they use
  ``" to "`` (``"-3 to 2"``) so that a minus sign is never next to the dash.
* A missing statistic (SD of a single value) prints as ``"NA"``; a summary of
  no values cannot be formatted (``ValueError``).

The module knows nothing about clinical data: it takes numbers and labels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, cast

import numpy as np
import pandas as pd

__all__ = [
    "CountTable",
    "Summary",
    "count_table",
    "format_number",
    "mean_sd",
    "median_iqr",
    "median_range",
    "n_percent",
    "summarize",
]

EN_DASH = "\u2013"
PLUS_MINUS = "\u00b1"
MISSING_TEXT = "NA"


@dataclass(frozen=True)
class Summary:
    """Summary statistics of one numeric variable.

    Attributes
    ----------
    n : int
        Number of non-missing values.
    n_missing : int
        Number of missing values (None, NaN, pandas NA).
    mean, sd : float
        Arithmetic mean and sample standard deviation (``ddof=1``); ``sd`` is
        NaN when ``n < 2``.
    median : float
        Median (average of the two middle values when ``n`` is even).
    q1, q3 : float
        First and third quartiles (see ``quantile_method`` of
        :func:`summarize`).
    min, max : float
        Smallest and largest value.
    quantile_method : str
        The :func:`numpy.quantile` method used for ``q1``/``q3``.

    All float fields are NaN when ``n == 0``.
    """

    n: int
    mean: float
    sd: float
    median: float
    min: float
    max: float
    q1: float
    q3: float
    n_missing: int
    quantile_method: str = "linear"


def _as_float_array(values: Iterable[Any], what: str = "values") -> np.ndarray:
    """Convert array-like input to float64 with NaN for every kind of missing."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{what}: expected a sequence of numbers, got a string: {values!r}")
    series = pd.Series(list(values) if not isinstance(values, (pd.Series, np.ndarray)) else values)
    try:
        numeric = pd.to_numeric(series, errors="raise")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: non-numeric value: {exc}") from exc
    arr = numeric.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(arr).any():
        raise ValueError(f"{what}: infinite value: {arr[np.isinf(arr)][0]}")
    return arr


def summarize(values: Iterable[Any], *, quantile_method: str = "linear") -> Summary:
    """Summarise a numeric vector.

    Parameters
    ----------
    values : array-like of numbers
        Missing values (None, NaN, ``pd.NA``) are counted in ``n_missing``
        and left out of every statistic.
    quantile_method : str, default "linear"
        Method passed to :func:`numpy.quantile` for the quartiles.
        ``"linear"`` is numpy's and R's default (Hyndman-Fan type 7);
        ``"weibull"`` (type 6) reproduces SPSS EXAMINE's default quartiles.
        The median does not depend on it.

    Returns
    -------
    Summary
        Named fields ``n, mean, sd, median, min, max, q1, q3, n_missing``.

    Raises
    ------
    ValueError
        If a value is not numeric or is infinite.

    References
    ----------
    Hyndman RJ, Fan Y. Sample quantiles in statistical packages. Am Stat.
    1996;50:361-365.

    Examples
    --------
    >>> s = summarize([1, 4, 10, None])
    >>> s.n, s.n_missing, s.median, s.min, s.max
    (3, 1, 4.0, 1.0, 10.0)
    >>> median_range(s)
    '4 (1–10)'
    """
    arr = _as_float_array(values)
    missing = np.isnan(arr)
    x = arr[~missing]
    n = int(x.size)
    if n == 0:
        nan = float("nan")
        return Summary(0, nan, nan, nan, nan, nan, nan, nan, int(missing.sum()), quantile_method)
    q1, q3 = np.quantile(x, [0.25, 0.75], method=cast(Any, quantile_method))
    # The median is the plain average of the middle values whatever the
    # quartile method (numpy's default).
    med = float(np.median(x))
    sd = float(np.std(x, ddof=1)) if n >= 2 else float("nan")
    return Summary(
        n=n,
        mean=float(np.mean(x)),
        sd=sd,
        median=med,
        min=float(np.min(x)),
        max=float(np.max(x)),
        q1=float(q1),
        q3=float(q3),
        n_missing=int(missing.sum()),
        quantile_method=quantile_method,
    )


def format_number(x: float, digits: int | None = None) -> str:
    """Format one number for a table.

    Parameters
    ----------
    x : float
        The number; NaN prints as ``"NA"``.
    digits : int or None
        Number of decimals (rounded half away from zero), or None to print
        the value as recorded (up to 12 significant digits, trailing zeros
        dropped, no exponent).

    Returns
    -------
    str

    Examples
    --------
    >>> format_number(2.675, 2), format_number(12.5, 0), format_number(0.0)
    ('2.68', '13', '0')
    >>> format_number(0.36), format_number(15000000.0), format_number(-0.04, 1)
    ('0.36', '15000000', '0.0')
    """
    if x is None or pd.isna(x):
        return MISSING_TEXT
    xf = float(x)
    if math.isinf(xf):
        raise ValueError(f"format_number: infinite value: {xf}")
    if digits is None:
        dec = Decimal(format(xf, ".12g"))
        text = format(dec, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        if digits < 0:
            raise ValueError(f"format_number: digits must be >= 0: {digits}")
        # repr gives the shortest decimal that round-trips, i.e. what a reader sees.
        dec = Decimal(repr(xf)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        text = format(dec, "f")
    if text.startswith("-") and set(text[1:]) <= {"0", "."}:
        text = text[1:]  # no "-0.0"
    return text


def _format_range(lo: float, hi: float, digits: int | None) -> str:
    lo_s, hi_s = format_number(lo, digits), format_number(hi, digits)
    sep = " to " if (lo_s.startswith("-") or hi_s.startswith("-")) else EN_DASH
    return f"{lo_s}{sep}{hi_s}"


def _require_values(summary: Summary, what: str) -> None:
    if summary.n == 0:
        raise ValueError(f"{what}: the summary has no non-missing values (n = 0)")


def mean_sd(summary: Summary, digits: int | None = 1) -> str:
    """Format mean ± SD, e.g. ``"12.3 ± 4.5"``.

    Parameters
    ----------
    summary : Summary
        From :func:`summarize`.
    digits : int or None, default 1
        Decimals for both numbers (see :func:`format_number`).

    Returns
    -------
    str
        ``"<mean> ± <sd>"``; the SD prints ``"NA"`` when ``n == 1``.

    Raises
    ------
    ValueError
        If the summary has no values.

    Examples
    --------
    >>> mean_sd(summarize([10, 12, 15]))
    '12.3 ± 2.5'
    """
    _require_values(summary, "mean_sd")
    return f"{format_number(summary.mean, digits)} {PLUS_MINUS} {format_number(summary.sd, digits)}"


def median_range(summary: Summary, digits: int | None = None) -> str:
    """Format median (min–max), e.g. ``"4 (1–10)"``.

    Parameters
    ----------
    summary : Summary
        From :func:`summarize`.
    digits : int or None, default None
        Decimals, or None to print the values as recorded (the way the trial
        paper prints "0.07 (0–0.36)").

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If the summary has no values.

    Examples
    --------
    >>> median_range(summarize([0.0, 0.07, 0.36]))
    '0.07 (0–0.36)'
    >>> median_range(summarize([0.0, 0.07, 0.36]), digits=2)
    '0.07 (0.00–0.36)'
    """
    _require_values(summary, "median_range")
    spread = _format_range(summary.min, summary.max, digits)
    return f"{format_number(summary.median, digits)} ({spread})"


def median_iqr(summary: Summary, digits: int | None = None) -> str:
    """Format median (Q1–Q3), e.g. ``"4 (2–7)"``.

    Parameters
    ----------
    summary : Summary
        From :func:`summarize` (its ``quantile_method`` defines Q1/Q3).
    digits : int or None, default None
        Decimals, or None to print as recorded.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If the summary has no values.

    Examples
    --------
    >>> median_iqr(summarize([1, 2, 3, 4, 5]))
    '3 (2–4)'
    """
    _require_values(summary, "median_iqr")
    spread = _format_range(summary.q1, summary.q3, digits)
    return f"{format_number(summary.median, digits)} ({spread})"


def n_percent(count: int, total: int, digits: int = 0) -> str:
    """Format a count with its percentage of a total, e.g. ``"4 (44%)"``.

    Parameters
    ----------
    count : int
        Number with the characteristic, ``0 <= count <= total``.
    total : int
        Denominator, ``> 0``.
    digits : int, default 0
        Decimals of the percentage. Rounding is exact (rational arithmetic)
        and half away from zero: 1/8 -> ``"1 (13%)"``.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``total <= 0``, ``count < 0``, ``count > total`` or either is not
        a whole number.

    Examples
    --------
    >>> n_percent(4, 9)
    '4 (44%)'
    >>> n_percent(7, 9, digits=1)
    '7 (77.8%)'
    """
    for name, value in (("count", count), ("total", total)):
        if isinstance(value, bool) or not float(value).is_integer():
            raise ValueError(f"n_percent: {name} must be a whole number: {value!r}")
    count_i, total_i = int(count), int(total)
    if total_i <= 0:
        raise ValueError(f"n_percent: total must be > 0: {total_i}")
    if not 0 <= count_i <= total_i:
        raise ValueError(f"n_percent: count must be in [0, total={total_i}]: {count_i}")
    if digits < 0:
        raise ValueError(f"n_percent: digits must be >= 0: {digits}")
    pct = Fraction(100 * count_i, total_i)
    dec = (Decimal(pct.numerator) / Decimal(pct.denominator)).quantize(
        Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP
    )
    return f"{count_i} ({format(dec, 'f')}%)"


@dataclass(frozen=True)
class CountTable:
    """Categories by group, as counts and as formatted n (%).

    Attributes
    ----------
    counts : pandas.DataFrame
        Integer counts, index = category levels (plus ``"Missing"`` when a
        category is missing), columns = groups (plus ``"Total"`` if asked).
    totals : pandas.Series
        Denominator per column: the number of rows of that group, missing
        categories included.
    formatted : pandas.DataFrame
        Same shape as ``counts``, cells ``"n (%)"`` with the column
        percentage.
    """

    counts: pd.DataFrame
    totals: pd.Series
    formatted: pd.DataFrame


def _as_series(values: Iterable[Any]) -> pd.Series:
    """Series with a fresh index, keeping a categorical dtype and its level order."""
    if isinstance(values, (pd.Series, pd.Categorical, pd.Index, np.ndarray)):
        return pd.Series(values).reset_index(drop=True)
    return pd.Series(list(values), dtype=object)


def _levels(values: pd.Series, order: Sequence[Any] | None, what: str) -> list[Any]:
    present = values.dropna()
    if order is not None:
        order_list = list(order)
        if len(set(order_list)) != len(order_list):
            raise ValueError(f"count_table: {what}_order has duplicates: {order_list}")
        unknown = sorted({str(v) for v in present.unique()} - {str(v) for v in order_list})
        if unknown:
            raise ValueError(f"count_table: {what} values not in {what}_order: {unknown}")
        return order_list
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.cat.categories)
    return sorted(present.unique().tolist(), key=lambda v: (str(type(v)), v))


def count_table(
    categories: Iterable[Any],
    groups: Iterable[Any],
    *,
    category_order: Sequence[Any] | None = None,
    group_order: Sequence[Any] | None = None,
    total: bool = False,
    digits: int = 0,
    missing_label: str = "Missing",
) -> CountTable:
    """Cross-tabulate categories by group as n (%) of each group.

    Parameters
    ----------
    categories : array-like
        Category of each row (e.g. response per subject); missing values are
        counted in a ``missing_label`` row that appears only when needed.
    groups : array-like
        Group of each row, same length; a missing group is an error.
    category_order, group_order : sequence, optional
        Order of rows/columns; levels listed but absent get zero counts
        (so a table can show "CR 0 (0%)"). By default categorical dtype
        order, else sorted.
    total : bool, default False
        Add a ``"Total"`` column over all groups.
    digits : int, default 0
        Decimals of the percentages.
    missing_label : str, default "Missing"
        Label of the missing-category row.

    Returns
    -------
    CountTable
        ``counts``, ``totals`` and ``formatted`` (column percentages).

    Raises
    ------
    ValueError
        On length mismatch, a missing group, a group with no rows, or values
        not listed in an explicit order.

    Examples
    --------
    >>> t = count_table(["PR", "NR", "NR", "PR", "NR"], ["A", "A", "A", "B", "B"],
    ...                 category_order=["CR", "PR", "NR"])
    >>> t.formatted.loc["PR", "A"], t.formatted.loc["CR", "B"]
    ('1 (33%)', '0 (0%)')
    """
    cat = _as_series(categories)
    grp = _as_series(groups)
    if len(cat) != len(grp):
        raise ValueError(
            f"count_table: categories and groups differ in length: {len(cat)} != {len(grp)}"
        )
    if grp.isna().any():
        first = int(np.flatnonzero(grp.isna().to_numpy())[0])
        raise ValueError(f"count_table: groups: missing group at position {first}")
    cat_levels = _levels(cat, category_order, "category")
    grp_levels = _levels(grp, group_order, "group")
    cat_key = cat.astype(object).map(str)
    grp_key = grp.astype(object).map(str)
    cat_missing = cat.isna().to_numpy()

    rows: list[Any] = list(cat_levels)
    if cat_missing.any():
        rows.append(missing_label)
    counts = pd.DataFrame(0, index=pd.Index(rows, dtype=object), columns=pd.Index(grp_levels))
    totals = pd.Series(0, index=pd.Index(grp_levels), dtype=int)
    for g in grp_levels:
        in_g = (grp_key == str(g)).to_numpy()
        totals[g] = int(in_g.sum())
        if totals[g] == 0:
            raise ValueError(f"count_table: group {g!r} has no rows")
        for c in cat_levels:
            counts.loc[c, g] = int(((cat_key == str(c)).to_numpy() & in_g & ~cat_missing).sum())
        if cat_missing.any():
            counts.loc[missing_label, g] = int((in_g & cat_missing).sum())
    if total:
        counts["Total"] = counts.sum(axis=1)
        totals["Total"] = len(grp)
    formatted = pd.DataFrame(
        {
            col: [n_percent(int(counts.loc[r, col]), int(totals[col]), digits) for r in rows]
            for col in counts.columns
        },
        index=counts.index,
    )
    return CountTable(counts=counts, totals=totals, formatted=formatted)
