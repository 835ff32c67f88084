"""Time-to-event endpoints per subject: OS, FFS, follow-up (TRIAL.md section 5).

- Time origin: study day 1 (first rATG dose, D7); time in days is
  ``(event_date - day1).days`` (day 1 itself is time 0); months = days / 30.4375.
- OS: death from any cause. HSCT does not censor.
- FFS: the first of treatment failure (D15: dated at the start of salvage
  therapy, HSCT or SALVAGE_IST; option ``first_nr_at_6_months``), relapse
  (D16), death; clonal evolution only with ``ffs_includes_clonal_evolution``
  (D16, off by default).
- Censoring: at the last date the subject is known alive: the latest
  LOST_TO_FOLLOW_UP / LAST_CONTACT (or later recorded event) when such a record
  exists, otherwise the data cut-off; never after the cut-off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import pandas as pd

from saatrial.rules.frames import (
    lab_values,
    require_columns,
    subject_rows,
    transfusion_records,
)
from saatrial.rules.severity import saa_blood_criteria
from saatrial.rules.transfusion import PRODUCTS, pre_transfusion_check
from saatrial.rules.types import (
    DateLike,
    is_missing,
    to_date,
    to_optional_date,
)

DAYS_PER_MONTH = 30.4375
EVENT_TYPES = frozenset(
    {
        "HSCT",
        "SALVAGE_IST",
        "DEATH",
        "RELAPSE",
        "CLONAL_EVOLUTION",
        "AGVHD",
        "CGVHD",
        "LOST_TO_FOLLOW_UP",
        "LAST_CONTACT",
    }
)
SALVAGE_TYPES = ("HSCT", "SALVAGE_IST")
CONTACT_TYPES = ("LOST_TO_FOLLOW_UP", "LAST_CONTACT")


class FailureDating(StrEnum):
    """How treatment failure is dated (D15)."""

    SALVAGE_START = "salvage_start"
    FIRST_NR_AT_6_MONTHS = "first_nr_at_6_months"


@dataclass(frozen=True)
class EndpointOptions:
    """Options of the endpoint derivation (TRIAL.md D15, D16).

    Attributes
    ----------
    failure_date : FailureDating
        ``salvage_start`` (default, D15) or ``first_nr_at_6_months``.
    ffs_includes_clonal_evolution : bool
        Count clonal evolution as an FFS event (D16; default False).
    nr_visit : str
        Visit code of the 6-month assessment for ``first_nr_at_6_months``.
    days_per_month : float
        30.4375 (TRIAL.md section 5).
    """

    failure_date: FailureDating = FailureDating.SALVAGE_START
    ffs_includes_clonal_evolution: bool = False
    nr_visit: str = "D180"
    days_per_month: float = DAYS_PER_MONTH

    def __post_init__(self) -> None:
        object.__setattr__(self, "failure_date", FailureDating(self.failure_date))
        if self.days_per_month <= 0:
            raise ValueError(f"days_per_month: > 0: {self.days_per_month}")

    @classmethod
    def from_decisions(
        cls, decisions: Mapping[str, Any], days_per_month: float = DAYS_PER_MONTH
    ) -> EndpointOptions:
        """Build from a protocol's ``decisions`` mapping (keys D15_..., D16_...).

        Examples
        --------
        >>> opts = EndpointOptions.from_decisions({"D15_failure_date": "first_nr_at_6_months"})
        >>> opts.failure_date
        <FailureDating.FIRST_NR_AT_6_MONTHS: 'first_nr_at_6_months'>
        """
        return cls(
            failure_date=FailureDating(decisions.get("D15_failure_date", "salvage_start")),
            ffs_includes_clonal_evolution=bool(
                decisions.get("D16_ffs_includes_clonal_evolution", False)
            ),
            days_per_month=days_per_month,
        )


@dataclass(frozen=True)
class SubjectEndpoints:
    """OS, FFS and follow-up of one subject.

    Attributes
    ----------
    subject_id : str or None
        Subject.
    day1, cutoff_date : datetime.date
        Time origin (study day 1) and data cut-off.
    os_date, os_days, os_months, os_event, os_reason
        Date, time (days from day 1; months = days / 30.4375), event flag (death)
        and what decided it.
    ffs_date, ffs_days, ffs_months, ffs_event, ffs_reason
        The same for failure-free survival.
    follow_up_days, follow_up_months
        Observed time (to death or last known alive).
    last_known_alive : datetime.date or None
        Censoring date (``None`` if the subject died before the cut-off).
    death_date, treatment_failure_date, relapse_date, clonal_evolution_date
        The dated components (within the cut-off), for reports.
    options : EndpointOptions
        Options applied.
    """

    subject_id: str | None
    day1: date
    cutoff_date: date
    os_date: date
    os_days: int
    os_months: float
    os_event: bool
    os_reason: str
    ffs_date: date
    ffs_days: int
    ffs_months: float
    ffs_event: bool
    ffs_reason: str
    follow_up_days: int
    follow_up_months: float
    last_known_alive: date | None
    death_date: date | None
    treatment_failure_date: date | None
    relapse_date: date | None
    clonal_evolution_date: date | None
    options: EndpointOptions


def _events(
    outcome_events: pd.DataFrame, subject_id: str | None
) -> list[tuple[date, str, dict[str, Any]]]:
    require_columns(outcome_events, "outcome_events", ["event_type", "event_date"])
    rows = outcome_events
    if subject_id is not None:
        rows = subject_rows(outcome_events, subject_id, "outcome_events")
    elif "subject_id" in rows.columns and rows["subject_id"].nunique() > 1:
        raise ValueError("outcome_events: rows of several subjects; pass subject_id=")
    who = f"outcome_events: subject {subject_id}" if subject_id else "outcome_events"
    out: list[tuple[date, str, dict[str, Any]]] = []
    for _, row in rows.iterrows():
        etype = row["event_type"]
        if is_missing(etype) or str(etype) not in EVENT_TYPES:
            raise ValueError(f"{who}: event_type: one of {sorted(EVENT_TYPES)}: {etype!r}")
        d = to_date(row["event_date"], f"{who}: {etype}: event_date")
        out.append((d, str(etype), {str(k): v for k, v in row.items()}))
    out.sort(key=lambda e: (e[0], e[1]))
    return out


def _nr_at_visit(
    responses: pd.DataFrame | None, subject_id: str | None, visit: str, cutoff: date
) -> date | None:
    if responses is None:
        return None
    require_columns(responses, "response_assessments", ["visit", "assessment_date", "response"])
    rows = (
        responses
        if subject_id is None
        else subject_rows(responses, subject_id, "response_assessments")
    )
    dates = [
        to_date(r["assessment_date"], "response_assessments: assessment_date")
        for _, r in rows.iterrows()
        if str(r["visit"]) == visit and str(r["response"]) == "NR"
    ]
    dates = [d for d in dates if d <= cutoff]
    return min(dates) if dates else None


def derive_endpoints(
    day1: DateLike,
    outcome_events: pd.DataFrame,
    cutoff_date: DateLike,
    responses: pd.DataFrame | None = None,
    options: EndpointOptions | None = None,
    *,
    subject_id: str | None = None,
    relapse_date: DateLike | None = None,
) -> SubjectEndpoints:
    """Derive OS, FFS and follow-up for one subject.

    Parameters
    ----------
    day1 : date-like
        Study day 1 (first rATG dose, D7): time 0.
    outcome_events : pandas.DataFrame
        ``outcome_events`` rows (event_type, event_date, ...). With ``subject_id``
        the subject's rows are selected; without it all rows must be one subject's.
    cutoff_date : date-like
        Data cut-off; nothing after it counts and nobody is followed beyond it.
    responses : pandas.DataFrame, optional
        ``response_assessments`` rows (visit, assessment_date, response); needed
        only for ``failure_date="first_nr_at_6_months"`` (D15 option).
    options : EndpointOptions, optional
        Defaults: failure at salvage start, clonal evolution not an FFS event.
    subject_id : str, optional
        Subject to select.
    relapse_date : date-like, optional
        A relapse found by :func:`detect_relapse` (joins recorded RELAPSE events).

    Returns
    -------
    SubjectEndpoints

    Raises
    ------
    ValueError
        If an event is dated before study day 1 or after the death, there is
        more than one death, or the cut-off precedes study day 1.

    References
    ----------
    Lan Y et al. BMC Pediatr 2021;21:102 (FFS definition). TRIAL.md section 5, D15, D16.

    Examples
    --------
    >>> ev = pd.DataFrame({"event_type": ["HSCT", "LAST_CONTACT"],
    ...                    "event_date": ["2014-09-01", "2018-04-01"]})
    >>> e = derive_endpoints("2014-01-01", ev, "2018-04-13")
    >>> e.os_event, e.os_days, e.ffs_event, e.ffs_days, e.ffs_reason
    (False, 1551, True, 243, 'treatment failure: HSCT (salvage start, D15)')
    """
    opts = options or EndpointOptions()
    d1 = to_date(day1, "day1")
    cutoff = to_date(cutoff_date, "cutoff_date")
    who = f"subject {subject_id}" if subject_id else "subject"
    if cutoff < d1:
        raise ValueError(f"{who}: cutoff_date {cutoff} is before study day 1 {d1}")
    events = _events(outcome_events, subject_id)
    for d, etype, _ in events:
        if d < d1:
            raise ValueError(
                f"outcome_events: {who}: {etype}: event_date {d} is before study day 1 {d1}"
            )
    deaths = [(d, row) for d, t, row in events if t == "DEATH"]
    if len(deaths) > 1:
        raise ValueError(f"outcome_events: {who}: DEATH: more than one: {[d for d, _ in deaths]}")
    if deaths:
        later = [(d, t) for d, t, _ in events if d > deaths[0][0]]
        if later:
            raise ValueError(
                f"outcome_events: {who}: events dated after the death on {deaths[0][0]}: {later}"
            )
    within = [(d, t, row) for d, t, row in events if d <= cutoff]

    def days(d: date) -> int:
        return (d - d1).days

    def months(n: int) -> float:
        return n / opts.days_per_month

    # OS: death from any cause; HSCT does not censor.
    death = next(((d, row) for d, t, row in within if t == "DEATH"), None)
    last_known_alive: date | None
    if death is not None:
        os_date, os_event = death[0], True
        cause = death[1].get("death_cause")
        os_reason = "death" + ("" if is_missing(cause) or not cause else f" ({cause})")
        last_known_alive = None
    else:
        contacts = [(d, t) for d, t, _ in events if t in CONTACT_TYPES]
        if contacts:
            alive = [(d, t) for d, t, _ in events if t != "DEATH"]
            lka_date, lka_type = max(alive)
            if lka_date > cutoff:
                lka_date, lka_reason = cutoff, "censored at data cut-off"
            elif lka_type in CONTACT_TYPES:
                lka_reason = f"censored: {lka_type}"
            else:
                lka_reason = f"censored: last recorded event {lka_type}"
        else:
            lka_date = cutoff
            lka_reason = "censored at data cut-off" + (
                " (death after cut-off)" if deaths else " (in follow-up)"
            )
        os_date, os_event, os_reason = lka_date, False, lka_reason
        last_known_alive = lka_date

    # FFS components
    salvage = [(d, t) for d, t, _ in within if t in SALVAGE_TYPES]
    failure: tuple[date, str] | None = None
    if opts.failure_date is FailureDating.FIRST_NR_AT_6_MONTHS:
        nr = _nr_at_visit(responses, subject_id, opts.nr_visit, cutoff)
        if nr is not None:
            failure = (nr, f"treatment failure: NR at {opts.nr_visit} (D15 option)")
        elif salvage:
            failure = (
                salvage[0][0],
                f"treatment failure: {salvage[0][1]} (no NR at {opts.nr_visit}; salvage start)",
            )
    elif salvage:
        # D15: treatment failure dated at the start of salvage therapy
        failure = (salvage[0][0], f"treatment failure: {salvage[0][1]} (salvage start, D15)")
    relapses = [d for d, t, _ in within if t == "RELAPSE"]
    detected = to_optional_date(relapse_date, "relapse_date")
    if detected is not None:
        if detected < d1:
            raise ValueError(f"{who}: relapse_date {detected} is before study day 1 {d1}")
        if detected <= cutoff:
            relapses.append(detected)
    relapse = min(relapses) if relapses else None
    clonal = next((d for d, t, _ in within if t == "CLONAL_EVOLUTION"), None)

    candidates: list[tuple[date, int, str]] = []
    if death is not None:
        candidates.append((death[0], 0, os_reason))
    if failure is not None:
        candidates.append((failure[0], 1, failure[1]))
    if relapse is not None:
        candidates.append((relapse, 2, "relapse (D16)"))
    if clonal is not None and opts.ffs_includes_clonal_evolution:
        candidates.append((clonal, 3, "clonal evolution (D16 option)"))
    if candidates:
        first = min(candidates)
        ffs_date, ffs_event, ffs_reason = first[0], True, first[2]
        if first[0] > os_date:  # pragma: no cover - impossible: all events precede death
            raise AssertionError("FFS event after the OS date")
    else:
        ffs_date, ffs_event, ffs_reason = os_date, False, os_reason

    os_days = days(os_date)
    ffs_days = days(ffs_date)
    return SubjectEndpoints(
        subject_id=subject_id,
        day1=d1,
        cutoff_date=cutoff,
        os_date=os_date,
        os_days=os_days,
        os_months=months(os_days),
        os_event=os_event,
        os_reason=os_reason,
        ffs_date=ffs_date,
        ffs_days=ffs_days,
        ffs_months=months(ffs_days),
        ffs_event=ffs_event,
        ffs_reason=ffs_reason,
        follow_up_days=os_days,
        follow_up_months=months(os_days),
        last_known_alive=last_known_alive,
        death_date=death[0] if death else None,
        treatment_failure_date=failure[0] if failure else None,
        relapse_date=relapse,
        clonal_evolution_date=clonal,
        options=opts,
    )


# ----------------------------------------------------------------------------- relapse
@dataclass(frozen=True)
class RelapseAssessment:
    """Result of :func:`detect_relapse` (D16).

    Attributes
    ----------
    relapsed : bool
        Counts fell back into the SAA range and transfusions were needed again.
    relapse_date : datetime.date or None
        The date both facts were established: the later of the count date and the
        transfusion date.
    count_date : datetime.date or None
        Date of the counts in the SAA range.
    transfusion_date : datetime.date or None
        Date of the transfusion that showed renewed need.
    criteria_met : tuple of str
        SAA blood criteria met at ``count_date``.
    reason : str
        One line.
    """

    relapsed: bool
    relapse_date: date | None
    count_date: date | None
    transfusion_date: date | None
    criteria_met: tuple[str, ...]
    reason: str


def detect_relapse(
    labs: pd.DataFrame,
    transfusions: pd.DataFrame,
    subject_id: str,
    response_date: DateLike,
    *,
    until: DateLike | None = None,
    window_days: int = 28,
    products: Iterable[str] = PRODUCTS,
    plt_pretransfusion_days: int = 3,
    arc_pretransfusion_days: int = 14,
) -> RelapseAssessment:
    """Detect a relapse after a response (D16).

    Relapse = counts back in the SAA range (at least two of ANC < 0.5,
    pre-transfusion PLT < 20, pre-transfusion ARC < 20; D1, D2) **and**
    transfusions needed again: a transfusion of ``products`` after the response,
    within ``window_days`` before or after the low counts. Only samples after
    ``response_date`` count; each test's latest value after the response and on
    or before the sample date is used.

    Parameters
    ----------
    labs, transfusions : pandas.DataFrame
        Study tables.
    subject_id : str
        Subject.
    response_date : date-like
        Date the response (PR or CR) was assessed.
    until : date-like, optional
        Ignore data after this date (e.g. the data cut-off).
    window_days : int, default 28
        Maximum distance between the low counts and the transfusion (D11's window).
    products : iterable of str, default ("RBC", "PLT")
        Transfusions that count.
    plt_pretransfusion_days, arc_pretransfusion_days : int
        D2 windows.

    Returns
    -------
    RelapseAssessment

    Examples
    --------
    >>> labs = pd.DataFrame({"subject_id": ["S1"] * 3, "lab_date": ["2014-08-01"] * 3,
    ...     "test": ["ANC", "PLT", "ARC"], "value": [0.3, 12, 40],
    ...     "pre_transfusion": ["Y", "Y", "Y"]})
    >>> tx = pd.DataFrame({"subject_id": ["S1"], "transfusion_date": ["2014-08-03"],
    ...                    "product": ["PLT"]})
    >>> r = detect_relapse(labs, tx, "S1", "2014-04-01")
    >>> r.relapsed, r.relapse_date
    (True, datetime.date(2014, 8, 3))
    """
    resp = to_date(response_date, "response_date")
    end = to_optional_date(until, "until")
    prods = tuple(products)
    records = transfusion_records(transfusions, subject_id)
    after = [(d, p) for d, p in records if d > resp and (end is None or d <= end) and p in prods]
    series = {
        t: [
            v
            for v in lab_values(labs, subject_id, t)
            if v.lab_date > resp and (end is None or v.lab_date <= end)
        ]
        for t in ("ANC", "PLT", "ARC")
    }
    sample_dates = sorted({v.lab_date for vs in series.values() for v in vs})
    best: RelapseAssessment | None = None
    low_seen = False
    for sd in sample_dates:
        cur = {
            t: max((v for v in vs if v.lab_date <= sd), key=lambda v: v.lab_date, default=None)
            for t, vs in series.items()
        }
        plt, arc = cur["PLT"], cur["ARC"]
        plt_ok = (
            pre_transfusion_check(
                plt.lab_date, plt.pre_transfusion, records, "PLT", plt_pretransfusion_days
            ).usable
            if plt
            else None
        )
        arc_ok = (
            pre_transfusion_check(
                arc.lab_date, arc.pre_transfusion, records, "RBC", arc_pretransfusion_days
            ).usable
            if arc
            else None
        )
        blood = saa_blood_criteria(
            cur["ANC"].value if cur["ANC"] else None,
            plt.value if plt else None,
            arc.value if arc else None,
            plt_pre_transfusion=plt_ok,
            arc_pre_transfusion=arc_ok,
        )
        if blood.saa_range is not True:
            continue
        low_seen = True
        lo, hi = sd - timedelta(days=window_days), sd + timedelta(days=window_days)
        near = [d for d, _ in after if lo <= d <= hi]
        if not near:
            continue
        tx_date = min(near)
        relapse_on = max(sd, tx_date)
        if best is None or (best.relapse_date is not None and relapse_on < best.relapse_date):
            best = RelapseAssessment(
                relapsed=True,
                relapse_date=relapse_on,
                count_date=sd,
                transfusion_date=tx_date,
                criteria_met=blood.met,
                reason=(
                    f"counts in SAA range on {sd} ({'; '.join(blood.met)}) and "
                    f"{'/'.join(prods)} transfusion on {tx_date} (D16)"
                ),
            )
    if best is not None:
        return best
    reason = (
        f"counts fell into the SAA range but no transfusion within {window_days} d of them"
        if low_seen
        else f"counts never back in the SAA range after {resp}"
    )
    return RelapseAssessment(False, None, None, None, (), reason)
