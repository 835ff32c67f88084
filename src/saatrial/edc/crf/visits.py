"""Visit calendar status of a subject: done, due, overdue, missing or upcoming (pure function).

The calendar comes from the protocol (:func:`saatrial.protocol.schedule.build_schedule`:
target day and window per visit, D9; study day 1 = first rATG dose, D7). The
status of each visit on a given day ("today"):

==============  =============================================================
``done``        a laboratory sample is dated inside the visit window
                (earliest .. latest date, both inclusive), whatever today is
``upcoming``    today is before the window opens
``due``         today is inside the window, on or before the target date
``overdue``     today is after the target date, the window still open
``missing``     the window has closed without a sample in it
``not_scheduled`` study day 1 is unknown (no rATG dose recorded)
==============  =============================================================

Examples
--------
>>> import datetime as dt
>>> from saatrial.protocol.model import load_protocol
>>> from saatrial.protocol.schedule import build_schedule
>>> s = build_schedule(load_protocol(), "CONTROL", "NONE", 20.0, dt.date(2014, 3, 1))
>>> [(v.code, v.status.value) for v in visit_states(s, [dt.date(2014, 4, 16)],
...                                                 today=dt.date(2014, 6, 5))]
[('D40', 'done'), ('D90', 'overdue'), ('D180', 'upcoming')]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from saatrial.protocol.schedule import SubjectSchedule

__all__ = ["VisitState", "VisitStatus", "visit_states"]


class VisitStatus(StrEnum):
    """Status of a protocol visit on a given day."""

    DONE = "done"
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    MISSING = "missing"
    NOT_SCHEDULED = "not_scheduled"


@dataclass(frozen=True)
class VisitState:
    """One visit of a subject's calendar with its status.

    Attributes
    ----------
    code, label : str
        Protocol visit code (``D90``) and label.
    target_day, earliest_day, latest_day : int
        Study days (D9 window, inclusive).
    target_date, earliest_date, latest_date : datetime.date or None
        Calendar dates (None when study day 1 is unknown).
    status : VisitStatus
    sample_dates : tuple of datetime.date
        Laboratory sample dates inside the window.
    text : str
        The status in words.
    """

    code: str
    label: str
    target_day: int
    earliest_day: int
    latest_day: int
    target_date: dt.date | None
    earliest_date: dt.date | None
    latest_date: dt.date | None
    status: VisitStatus
    sample_dates: tuple[dt.date, ...]
    text: str


def visit_states(
    schedule: SubjectSchedule, sample_dates: Iterable[dt.date], today: dt.date
) -> tuple[VisitState, ...]:
    """Status of each protocol visit of ``schedule`` on ``today``.

    Parameters
    ----------
    schedule : SubjectSchedule
        The subject's calendar (its ``day1`` may be None).
    sample_dates : iterable of datetime.date
        Dates of the subject's laboratory samples.
    today : datetime.date
        The day the status is judged on.

    Returns
    -------
    tuple of VisitState
        In the schedule's visit order.
    """
    dates = sorted(set(sample_dates))
    out: list[VisitState] = []
    for v in schedule.visits:
        inside: tuple[dt.date, ...]
        if v.target_date is None or v.earliest_date is None or v.latest_date is None:
            status, inside = VisitStatus.NOT_SCHEDULED, ()
            text = "not scheduled: study day 1 (first rATG dose, D7) not recorded"
        else:
            # D9: the window is inclusive at both ends
            inside = tuple(d for d in dates if v.earliest_date <= d <= v.latest_date)
            if inside:
                status = VisitStatus.DONE
                text = "done: sample on " + ", ".join(d.isoformat() for d in inside)
            elif today < v.earliest_date:
                status = VisitStatus.UPCOMING
                text = f"upcoming: window opens {v.earliest_date.isoformat()}"
            elif today <= v.target_date:
                status = VisitStatus.DUE
                text = f"due: target {v.target_date.isoformat()}"
            elif today <= v.latest_date:
                status = VisitStatus.OVERDUE
                text = f"overdue: window closes {v.latest_date.isoformat()}"
            else:
                status = VisitStatus.MISSING
                text = f"missing: no sample in the window (closed {v.latest_date.isoformat()})"
        out.append(
            VisitState(
                code=v.code,
                label=v.label,
                target_day=v.target_day,
                earliest_day=v.earliest_day,
                latest_day=v.latest_day,
                target_date=v.target_date,
                earliest_date=v.earliest_date,
                latest_date=v.latest_date,
                status=status,
                sample_dates=inside,
                text=text,
            )
        )
    return tuple(out)
