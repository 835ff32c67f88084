"""Shared pieces of the report analysis: a log of notices, and value helpers.

:class:`AnalysisLog` collects what the analysis steps could not compute (as
:class:`~saatrial.report.model.Notice` objects and as dotted ``results`` keys
with their reason) and the names of the statistical methods that ran. The
helpers turn pandas values into plain Python values (``None`` for missing).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from saatrial.report.model import Notice

__all__ = ["ALPHA", "AnalysisLog", "finite_or_none", "flag_mask", "pvalue_of", "text_or_none"]

#: Threshold of "significant" (TRIAL.md 7: p < 0.05).
ALPHA = 0.05


class AnalysisLog:
    """Collects notices, not-computed reasons and the methods that ran.

    Attributes
    ----------
    notices : list of Notice
        What could not be computed and why, in the order found.
    not_computed : dict
        Dotted ``results`` key -> the reason it is ``None`` (first reason wins).
    methods : list of str
        Names of the statistical methods that ran, in first-use order.

    Examples
    --------
    >>> log = AnalysisLog()
    >>> log.notice("Log-rank FFS", "one arm only", "long_term.ffs_logrank_p")
    >>> log.used("log-rank test"); log.used("log-rank test")
    >>> log.not_computed, log.methods
    ({'long_term.ffs_logrank_p': 'one arm only'}, ['log-rank test'])
    """

    def __init__(self) -> None:
        self.notices: list[Notice] = []
        self.not_computed: dict[str, str] = {}
        self.methods: list[str] = []

    def notice(self, where: str, message: str, *keys: str) -> None:
        """Record a notice; ``keys`` are the ``results`` keys it leaves ``None``."""
        self.notices.append(Notice(where, message))
        for key in keys:
            self.not_computed.setdefault(key, message)

    def used(self, method: str) -> None:
        """Record that a method ran (once per name)."""
        if method not in self.methods:
            self.methods.append(method)


def flag_mask(series: pd.Series, value: str = "Y") -> np.ndarray:
    """Boolean mask ``series == value`` with missing as False.

    Examples
    --------
    >>> flag_mask(pd.Series(["Y", None, "N"], dtype="string")).tolist()
    [True, False, False]
    """
    return (series.astype("string") == value).fillna(False).to_numpy(dtype=bool)


def text_or_none(value: Any) -> str | None:
    """The value as text, or None when missing.

    Examples
    --------
    >>> text_or_none(pd.NA), text_or_none("MSC")
    (None, 'MSC')
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def finite_or_none(value: Any) -> float | None:
    """A finite float, or None (NaN, NA, None, text).

    Examples
    --------
    >>> finite_or_none(float("nan")), finite_or_none(pd.NA), finite_or_none(0.5)
    (None, None, 0.5)
    """
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def pvalue_of(res: Any) -> float | None:
    """The ``pvalue`` of a test result, or None when there is no result or no finite p."""
    return None if res is None else finite_or_none(res.pvalue)
