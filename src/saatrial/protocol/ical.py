"""Minimal iCalendar (RFC 5545) text for all-day events, written by hand.

Only what a dosing and visit calendar needs: a VCALENDAR of VEVENTs with
``DTSTART;VALUE=DATE``/``DTEND;VALUE=DATE``, escaped TEXT values, CRLF line endings
and lines folded at 75 octets (RFC 5545 §3.1) without splitting a UTF-8 character.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["CalendarEvent", "calendar_text", "escape_text", "fold_line"]

CRLF = "\r\n"
MAX_OCTETS = 75
PRODID = "-//saatrial//protocol schedule//EN"


@dataclass(frozen=True)
class CalendarEvent:
    """One all-day event.

    Attributes
    ----------
    uid : str
        Globally unique, stable identifier (same input -> same UID).
    start : datetime.date
        First day of the event.
    end_inclusive : datetime.date
        Last day of the event (written as the exclusive ``DTEND`` = last day + 1).
    summary, description : str
        Plain text; escaped when written.
    categories : str
        One category word (e.g. ``DOSE``, ``VISIT``).
    """

    uid: str
    start: dt.date
    end_inclusive: dt.date
    summary: str
    description: str = ""
    categories: str = ""


def escape_text(text: str) -> str:
    r"""Escape a TEXT property value (RFC 5545 §3.3.11).

    Examples
    --------
    >>> escape_text("a, b; c\\d\nnext")
    'a\\, b\\; c\\\\d\\nnext'
    """
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold_line(line: str) -> list[str]:
    """Split a content line into physical lines of at most 75 octets (RFC 5545 §3.1).

    Continuation lines start with one space, which counts toward their 75 octets.
    A multi-byte UTF-8 character is never split.

    Examples
    --------
    >>> [len(p.encode()) for p in fold_line("X" * 160)]
    [75, 75, 12]
    """
    parts: list[str] = []
    current = ""
    size = 0
    limit = MAX_OCTETS
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            parts.append(current)
            current, size, limit = " ", 1, MAX_OCTETS
        current += ch
        size += n
    parts.append(current)
    return parts


def _date(d: dt.date) -> str:
    return d.strftime("%Y%m%d")


def calendar_text(events: Iterable[CalendarEvent], dtstamp: dt.date) -> str:
    """Build a VCALENDAR with CRLF line endings and folded lines.

    Parameters
    ----------
    events : iterable of CalendarEvent
    dtstamp : datetime.date
        Written as ``DTSTAMP:<date>T000000Z`` on every event, so the output depends
        only on the input (byte-stable).

    Returns
    -------
    str

    Examples
    --------
    >>> ev = CalendarEvent("a@x", dt.date(2014, 1, 6), dt.date(2014, 1, 6), "rATG")
    >>> text = calendar_text([ev], dt.date(2014, 1, 6))
    >>> "DTSTART;VALUE=DATE:20140106" in text and text.endswith("END:VCALENDAR\\r\\n")
    True
    """
    stamp = f"{_date(dtstamp)}T000000Z"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    for ev in events:
        if ev.end_inclusive < ev.start:
            raise ValueError(f"event {ev.uid}: end {ev.end_inclusive} before start {ev.start}")
        lines += [
            "BEGIN:VEVENT",
            f"UID:{ev.uid}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{_date(ev.start)}",
            f"DTEND;VALUE=DATE:{_date(ev.end_inclusive + dt.timedelta(days=1))}",
            f"SUMMARY:{escape_text(ev.summary)}",
        ]
        if ev.description:
            lines.append(f"DESCRIPTION:{escape_text(ev.description)}")
        if ev.categories:
            lines.append(f"CATEGORIES:{escape_text(ev.categories)}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(part + CRLF for line in lines for part in fold_line(line))
