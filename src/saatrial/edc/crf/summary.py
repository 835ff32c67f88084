"""A subject's header facts from its casebook rows: study day 1 and follow-up status (pure).

Examples
--------
>>> import datetime as dt
>>> s = subject_summary({"exposures": [{"drug": "RATG", "start_date": dt.date(2014, 3, 2)},
...                                    {"drug": "RATG", "start_date": dt.date(2014, 3, 1)}],
...                      "outcome_events": []})
>>> s.day1, s.status
(datetime.date(2014, 3, 1), 'on study (day 1 = 2014-03-01)')
>>> subject_summary({"exposures": [], "outcome_events": []}).status
'screening (no rATG dose recorded)'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["SubjectSummary", "subject_summary"]

#: Outcome events that end follow-up, with their wording (first one found wins).
ENDING_EVENTS: tuple[tuple[str, str], ...] = (
    ("DEATH", "died"),
    ("LOST_TO_FOLLOW_UP", "lost to follow-up"),
)


@dataclass(frozen=True)
class SubjectSummary:
    """Header facts of a subject.

    Attributes
    ----------
    day1 : datetime.date or None
        Study day 1 = first rATG dose (D7), None before it.
    status : str
        ``screening``, ``on study`` or how follow-up ended, in words.
    """

    day1: dt.date | None
    status: str


def subject_summary(records: Mapping[str, Sequence[Mapping[str, Any]]]) -> SubjectSummary:
    """Day 1 and status from a subject's ``exposures`` and ``outcome_events`` rows.

    Parameters
    ----------
    records : Mapping
        Table -> rows (dictionary field names -> Python values), as
        :func:`saatrial.edc.crf.casebook.subject_records` returns them.

    Returns
    -------
    SubjectSummary
    """
    starts = [r["start_date"] for r in records.get("exposures", ()) if r.get("drug") == "RATG"]
    day1 = min(starts) if starts else None  # D7: study day 1 = first rATG dose
    events = records.get("outcome_events", ())
    for code, words in ENDING_EVENTS:
        dates = sorted(r["event_date"] for r in events if r.get("event_type") == code)
        if dates:
            return SubjectSummary(day1, f"{words} {dates[0].isoformat()}")
    if day1 is None:
        return SubjectSummary(None, "screening (no rATG dose recorded)")
    return SubjectSummary(day1, f"on study (day 1 = {day1.isoformat()})")
