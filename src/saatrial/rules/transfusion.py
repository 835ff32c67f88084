"""Transfusion rules: transfusion independence (D11) and pre-transfusion counts (D2).

Window convention (both rules): a window of ``n`` days before a date ``d`` is
the closed interval ``[d - n days, d]``. A transfusion given exactly ``n`` days
before ``d`` is inside it, and so is one given on ``d`` itself (for a sample on
that day we cannot tell whether it was drawn before or after the transfusion,
and a transfusion on the assessment day shows the patient still needs blood).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from saatrial.rules.frames import transfusion_records
from saatrial.rules.types import DateLike, to_date

PRODUCTS = ("RBC", "PLT")


@dataclass(frozen=True)
class TransfusionStatus:
    """Transfusion independence at a date (D11).

    Attributes
    ----------
    independent : bool
        No transfusion of any of ``products`` in the window.
    on_date : datetime.date
        The assessment date (window end, inclusive).
    window_start : datetime.date
        ``on_date - window_days`` (inclusive).
    window_days : int
        Length of the look-back window.
    products : tuple of str
        Products that count.
    last_transfusion : Mapping[str, datetime.date or None]
        Per product, the last transfusion on or before ``on_date`` (at any time).
    transfusions_in_window : tuple of (date, str)
        The transfusions that made the patient dependent (empty if independent).
    reason : str
        One line saying why.
    """

    independent: bool
    on_date: date
    window_start: date
    window_days: int
    products: tuple[str, ...]
    last_transfusion: Mapping[str, date | None]
    transfusions_in_window: tuple[tuple[date, str], ...] = field(default=())
    reason: str = ""


@dataclass(frozen=True)
class PreTransfusionCheck:
    """Whether a PLT or ARC value counts as pre-transfusion for severity (D2).

    Attributes
    ----------
    usable : bool
        The value may be used for the severity criterion.
    reason : str
        Why (flag, or the transfusion that makes it unusable).
    """

    usable: bool
    reason: str


def _check_products(products: Iterable[str]) -> tuple[str, ...]:
    prods = tuple(products)
    bad = [p for p in prods if p not in PRODUCTS]
    if bad or not prods:
        raise ValueError(f"products: one or more of {list(PRODUCTS)}: {list(prods)}")
    return prods


def independence_from_records(
    records: Sequence[tuple[date, str]],
    on_date: DateLike,
    window_days: int = 28,
    products: Iterable[str] = PRODUCTS,
) -> TransfusionStatus:
    """Transfusion independence from ``(date, product)`` records (pure core of D11).

    Parameters
    ----------
    records : sequence of (datetime.date, str)
        One subject's transfusions.
    on_date : date-like
        Assessment date.
    window_days : int, default 28
        D11 look-back window; 56 is the usual choice in refractory-AA trials.
    products : iterable of str, default ("RBC", "PLT")
        Products that make a patient dependent.

    Returns
    -------
    TransfusionStatus

    Examples
    --------
    >>> on = date(2014, 3, 1)
    >>> independence_from_records([(date(2014, 2, 1), "RBC")], on).independent  # 28 d before
    False
    >>> independence_from_records([(date(2014, 1, 31), "RBC")], on).independent  # 29 d before
    True
    """
    day = to_date(on_date, "on_date")
    prods = _check_products(products)
    if window_days < 0:
        raise ValueError(f"window_days: >= 0: {window_days}")
    start = day - timedelta(days=window_days)  # D11: 28-day window, both ends inclusive
    last: dict[str, date | None] = {p: None for p in prods}
    in_window: list[tuple[date, str]] = []
    for d, product in sorted(records):
        if product not in prods or d > day:
            continue
        last[product] = d
        if d >= start:
            in_window.append((d, product))
    if in_window:
        latest = in_window[-1]
        reason = (
            f"{len(in_window)} transfusion(s) of {'/'.join(prods)} in {start}..{day} "
            f"({window_days} d), last {latest[1]} on {latest[0]}"
        )
    else:
        reason = f"no {'/'.join(prods)} transfusion in {start}..{day} ({window_days} d)"
    return TransfusionStatus(
        independent=not in_window,
        on_date=day,
        window_start=start,
        window_days=window_days,
        products=prods,
        last_transfusion=last,
        transfusions_in_window=tuple(in_window),
        reason=reason,
    )


def transfusion_independent(
    transfusions_df: pd.DataFrame,
    subject_id: str,
    on_date: DateLike,
    window_days: int = 28,
    products: Iterable[str] = PRODUCTS,
) -> TransfusionStatus:
    """Transfusion independence of a subject at a date (D11).

    A patient is transfusion independent at ``on_date`` when no transfusion of
    any of ``products`` was given from ``on_date - window_days`` to ``on_date``
    (both inclusive): a transfusion exactly 28 days before still counts.

    Parameters
    ----------
    transfusions_df : pandas.DataFrame
        The ``transfusions`` table (subject_id, transfusion_date, product).
    subject_id : str
        Subject.
    on_date : date-like
        Assessment date.
    window_days : int, default 28
        D11 window.
    products : iterable of str, default ("RBC", "PLT")
        D11 products.

    Returns
    -------
    TransfusionStatus

    References
    ----------
    TRIAL.md D11; Killick SB et al. Guidelines for the diagnosis and management
    of adult aplastic anaemia. Br J Haematol 2016;172:187-207 (response criteria).

    Examples
    --------
    >>> tx = pd.DataFrame({"subject_id": ["S1"], "transfusion_date": ["2014-02-01"],
    ...                    "product": ["PLT"]})
    >>> transfusion_independent(tx, "S1", "2014-03-02").independent
    True
    """
    records = transfusion_records(transfusions_df, subject_id)
    return independence_from_records(records, on_date, window_days, products)


def pre_transfusion_check(
    lab_date: DateLike,
    flag: bool | None,
    records: Sequence[tuple[date, str]],
    product: str,
    window_days: int,
) -> PreTransfusionCheck:
    """Decide whether a count is pre-transfusion for severity (D2).

    A value counts if its lab record is flagged pre-transfusion (``True``); a value
    flagged post-transfusion (``False``) never counts; an unflagged value counts if
    no ``product`` transfusion was given from ``lab_date - window_days`` to
    ``lab_date`` (same-day transfusions count against it: sample order unknown).

    Parameters
    ----------
    lab_date : date-like
        Date of the sample.
    flag : bool or None
        The lab's ``pre_transfusion`` field.
    records : sequence of (date, product)
        The subject's transfusions.
    product : str
        ``"PLT"`` for a platelet count, ``"RBC"`` for a reticulocyte count.
    window_days : int
        3 for PLT, 14 for ARC (D2).

    Returns
    -------
    PreTransfusionCheck

    Examples
    --------
    >>> recs = [(date(2014, 1, 7), "PLT")]
    >>> pre_transfusion_check(date(2014, 1, 10), None, recs, "PLT", 3).usable
    False
    >>> pre_transfusion_check(date(2014, 1, 11), None, recs, "PLT", 3).usable
    True
    """
    day = to_date(lab_date, "lab_date")
    _check_products([product])
    if flag is True:
        return PreTransfusionCheck(True, "flagged pre-transfusion")
    if flag is False:
        return PreTransfusionCheck(False, f"flagged post-transfusion (D2) on {day}")
    start = day - timedelta(days=window_days)
    hits = [d for d, p in records if p == product and start <= d <= day]
    if hits:
        return PreTransfusionCheck(
            False,
            f"{product} transfusion on {max(hits)} within {window_days} d before the "
            f"sample of {day} (D2)",
        )
    return PreTransfusionCheck(
        True, f"no {product} transfusion in the {window_days} d before {day}"
    )
