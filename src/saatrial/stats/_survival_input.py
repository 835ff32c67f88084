"""Input checking and coding shared by the survival estimators.

Every public survival function turns its array-likes into plain numpy arrays
here, so that the estimators see exactly one representation:

* times: 1-D ``float64``, finite, ``>= 0``;
* event indicators: 1-D ``bool``;
* labels (group, stratum, cause): 1-D ``intp`` codes ``0..k-1`` plus the
  tuple of the ``k`` labels, in sorted order.

Bad input raises ``ValueError`` (or ``TypeError`` for a wrong kind of data)
with a message that names the argument, the first offending position and the
rule, e.g. ``time[3]: must be finite and >= 0: nan``.

The estimators' result arrays are made read-only with :func:`frozen`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

#: Largest integer that float64 represents exactly; integer times above it are refused.
_MAX_EXACT_INT = 2**53

#: Integer label arrays with a value range up to this are coded by counting (no sort).
_MAX_LABEL_SPAN = 1 << 20


@dataclass(frozen=True, eq=False)
class Labels:
    """Labels coded as integers.

    Attributes
    ----------
    codes : ndarray of uint8 (up to 256 labels) or intp
        Code of each row, ``0 .. len(levels) - 1``; read-only (it may be a view
        of the caller's array).
    levels : tuple
        The distinct labels in sorted order; ``levels[c]`` is the label of code ``c``.
    """

    codes: NDArray[np.integer[Any]]
    levels: tuple[Any, ...]


def _to_numpy(values: Any, name: str) -> NDArray[Any]:
    """Return a 1-D numpy view/copy of ``values`` (pandas NA becomes NaN or None)."""
    if isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        dtype = values.dtype
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            if bool(pd.isna(values).any()):
                first = int(np.flatnonzero(np.asarray(pd.isna(values)))[0])
                raise ValueError(f"{name}[{first}]: must not be missing: NA")
            arr = values.to_numpy(dtype=bool if pd.api.types.is_bool_dtype(dtype) else None)
        else:
            arr = np.asarray(values.to_numpy(dtype=object))  # NA stays NA: refused later
    else:
        arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: must be one-dimensional, got shape {arr.shape}")
    return arr


def _read_only(arr: NDArray[Any]) -> NDArray[Any]:
    view = arr.view()
    view.setflags(write=False)
    return view


def _first_index(mask: NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def as_time(values: Any, *, name: str = "time") -> NDArray[np.float64]:
    """Check survival times and return them as a float64 array (see :func:`as_time_bounds`)."""
    return as_time_bounds(values, name=name)[0]


def as_time_bounds(
    values: Any, *, name: str = "time"
) -> tuple[NDArray[np.float64], tuple[float, float]]:
    """Check survival times; return them as float64 with their (min, max).

    Parameters
    ----------
    values : array-like
        Non-negative, finite numbers (durations since the time origin).
    name : str
        Argument name used in error messages.

    Returns
    -------
    times : ndarray of float64
    bounds : (float, float)
        Minimum and maximum, so that later steps need not scan again.

    Raises
    ------
    TypeError
        If the values are not numbers (booleans, dates, strings).
    ValueError
        If the array is empty, not 1-D, or holds a missing, infinite or
        negative value.
    """
    arr = _to_numpy(values, name)
    if arr.size == 0:
        raise ValueError(f"{name}: empty input; at least one observation is required")
    kind = arr.dtype.kind
    if kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}: must be numeric durations: {exc}") from None
    elif kind in "iu":
        if arr.size and int(np.abs(arr).max()) > _MAX_EXACT_INT:
            raise ValueError(f"{name}: integer times above 2**53 are not exactly representable")
        arr = arr.astype(np.float64)
    elif kind == "f":
        arr = arr.astype(np.float64, copy=False)
    else:
        raise TypeError(
            f"{name}: must be numeric durations (e.g. days since the time origin), "
            f"got dtype {arr.dtype}"
        )
    lo = arr.min()
    hi = arr.max()
    if not (lo >= 0.0) or not np.isfinite(hi):  # NaN fails both comparisons
        bad = _first_index(~(np.isfinite(arr) & (arr >= 0.0)))
        raise ValueError(f"{name}[{bad}]: must be finite and >= 0: {_python_scalar(arr[bad])!r}")
    # -0.0 passes "lo >= 0"; adding +0.0 turns it into +0.0 (the sort core relies on it)
    if lo == 0.0:
        arr = arr + 0.0
    return arr, (float(lo), float(hi))


def as_event(values: Any, n: int, *, name: str = "event") -> NDArray[np.bool_]:
    """Check an event indicator (1/True = event, 0/False = censored).

    Parameters
    ----------
    values : array-like of bool or of 0/1 numbers
    n : int
        Required length (the number of times).
    name : str
        Argument name used in error messages.

    Returns
    -------
    ndarray of bool
    """
    arr = _to_numpy(values, name)
    if arr.shape[0] != n:
        raise ValueError(f"{name}: length {arr.shape[0]} does not match time length {n}")
    if arr.dtype.kind == "b":
        return arr.astype(bool, copy=False)
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}: must be boolean or 0/1: {exc}") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name}: must be boolean or 0/1, got dtype {arr.dtype}")
    ok = (arr == 0) | (arr == 1)
    if not ok.all():
        bad = _first_index(~ok)
        raise ValueError(f"{name}[{bad}]: must be 0/1 or boolean: {_python_scalar(arr[bad])!r}")
    return arr == 1


def _present_values(shifted: NDArray[Any], span: int) -> NDArray[np.intp]:
    """Which of 0..span-1 occur; a few vectorized comparisons beat bincount for tiny spans."""
    if span <= 4:
        return np.flatnonzero([bool((shifted == v).any()) for v in range(span)])
    return np.flatnonzero(np.bincount(shifted, minlength=span))


def _python_scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def as_labels(values: Any, n: int, *, name: str) -> Labels:
    """Code group/stratum/cause labels as integers ``0..k-1`` in sorted label order.

    Booleans and small-range integers are coded by counting (no sort, linear
    time); anything else by :func:`pandas.factorize` (hashing). Codes are
    ``uint8`` when there are at most 256 labels.

    Parameters
    ----------
    values : array-like
        One label per row; missing labels are refused.
    n : int
        Required length.
    name : str
        Argument name used in error messages.

    Returns
    -------
    Labels
    """
    arr = _to_numpy(values, name)
    if arr.shape[0] != n:
        raise ValueError(f"{name}: length {arr.shape[0]} does not match time length {n}")
    if n == 0:
        return Labels(np.zeros(0, dtype=np.intp), ())
    kind = arr.dtype.kind
    was_bool = kind == "b"
    if was_bool:
        arr = arr.view(np.uint8)
        kind = "u"
    if kind in "iu":
        lo = int(arr.min())
        span = int(arr.max()) - lo + 1
        if span <= _MAX_LABEL_SPAN:
            small = span <= 256
            if small and lo >= 0 and arr.dtype.itemsize == 1:
                shifted = arr.view(np.uint8)
                if lo:
                    shifted = shifted - np.uint8(lo)
            else:
                shifted = arr.astype(np.int64)
                if lo:
                    shifted -= lo
                if small:
                    shifted = shifted.astype(np.uint8)
            present = _present_values(shifted, span)
            if was_bool:
                levels: tuple[Any, ...] = tuple(bool(v) for v in present)
            else:
                levels = tuple(int(v) + lo for v in present)
            if present.size == span:  # labels are lo, lo+1, ..., hi: codes need no lookup
                return Labels(_read_only(shifted), levels)
            lut = np.full(span, -1, dtype=np.intp)
            lut[present] = np.arange(present.size, dtype=np.intp)
            codes = lut[shifted]
            return Labels(codes.astype(np.uint8) if small else codes, levels)
    if kind == "f":
        missing = np.isnan(arr)
        if missing.any():
            bad = _first_index(missing)
            raise ValueError(f"{name}[{bad}]: must not be missing: nan")
    codes, uniques = pd.factorize(arr, sort=True, use_na_sentinel=True)
    if (codes < 0).any():
        bad = _first_index(codes < 0)
        raise ValueError(f"{name}[{bad}]: must not be missing: {_python_scalar(arr[bad])!r}")
    levels = tuple(_python_scalar(u) for u in uniques)
    return Labels(codes.astype(np.uint8 if len(levels) <= 256 else np.intp), levels)


def frozen(arr: NDArray[Any]) -> NDArray[Any]:
    """``arr`` as a C-contiguous, read-only array (copied only if not contiguous).

    Examples
    --------
    >>> a = frozen(np.arange(3.0))
    >>> a.flags.writeable, a.flags.c_contiguous
    (False, True)
    """
    arr = np.ascontiguousarray(arr)
    arr.setflags(write=False)
    return arr


def as_time_point(t: float) -> float:
    """Check that a time to read an estimate at (argument ``t``) is a finite number.

    Examples
    --------
    >>> as_time_point(2)
    2.0
    >>> as_time_point(float("inf"))
    Traceback (most recent call last):
    ...
    ValueError: t: must be a finite number: inf
    """
    value = float(t)
    if not np.isfinite(value):
        raise ValueError(f"t: must be a finite number: {t!r}")
    return value


def as_conf_level(conf_level: float) -> float:
    """Check that a confidence level is strictly between 0 and 1."""
    level = float(conf_level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"conf_level: must be strictly between 0 and 1: {conf_level!r}")
    return level
