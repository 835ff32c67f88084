"""Visit calendar status, hand-worked from the protocol windows (D9) and day 1 (D7).

Day 1 = 2014-03-01 (first rATG dose). Study day d falls on day1 + (d - 1):
D40 target day 40 = 2014-04-09, window +/- 7 days = days 33..47 =
2014-04-02..2014-04-16. D90 target 2014-05-29 (day 90), window +/- 14 =
2014-05-15..2014-06-12. D180 target 2014-08-27, window +/- 30 =
2014-07-28..2014-09-26.
"""

from __future__ import annotations

import datetime as dt

import pytest

from saatrial.edc.crf.visits import VisitStatus, visit_states
from saatrial.protocol.model import load_protocol
from saatrial.protocol.schedule import build_schedule

D = dt.date.fromisoformat
SCHEDULE = build_schedule(load_protocol(), "CONTROL", "NONE", 20.0, D("2014-03-01"), "S1")


def d40(samples, today):
    return visit_states(SCHEDULE, [D(s) for s in samples], D(today))[0]


def test_window_dates():
    states = visit_states(SCHEDULE, [], D("2014-01-01"))
    got = [(s.code, s.target_date, s.earliest_date, s.latest_date) for s in states]
    assert got == [
        ("D40", D("2014-04-09"), D("2014-04-02"), D("2014-04-16")),
        ("D90", D("2014-05-29"), D("2014-05-15"), D("2014-06-12")),
        ("D180", D("2014-08-27"), D("2014-07-28"), D("2014-09-26")),
    ]


@pytest.mark.parametrize(
    ("samples", "today", "status"),
    [
        ([], "2014-04-01", VisitStatus.UPCOMING),  # day before the window opens
        ([], "2014-04-02", VisitStatus.DUE),  # window opens
        ([], "2014-04-09", VisitStatus.DUE),  # target day
        ([], "2014-04-10", VisitStatus.OVERDUE),  # day after the target
        ([], "2014-04-16", VisitStatus.OVERDUE),  # last day of the window
        ([], "2014-04-17", VisitStatus.MISSING),  # window closed, no sample
        (["2014-04-16"], "2014-04-17", VisitStatus.DONE),  # sample on the last day counts
        (["2014-04-02"], "2014-04-03", VisitStatus.DONE),  # ... and on the first
        (["2014-04-17"], "2014-05-01", VisitStatus.MISSING),  # one day late: not in window
        (["2014-04-01"], "2014-05-01", VisitStatus.MISSING),  # one day early
        (["2014-04-05"], "2014-03-02", VisitStatus.DONE),  # done whatever today is
    ],
)
def test_d40_status(samples, today, status):
    state = d40(samples, today)
    assert state.status is status
    assert state.text.startswith(status.value)


def test_done_lists_the_samples_in_the_window():
    state = d40(["2014-04-03", "2014-04-03", "2014-04-20", "2014-04-10"], "2014-06-01")
    assert state.sample_dates == (D("2014-04-03"), D("2014-04-10"))
    assert state.text == "done: sample on 2014-04-03, 2014-04-10"


def test_without_day1_nothing_is_scheduled():
    schedule = build_schedule(load_protocol(), "CONTROL", "NONE", 20.0, None, "S1")
    states = visit_states(schedule, [D("2014-04-05")], D("2014-05-01"))
    assert {s.status for s in states} == {VisitStatus.NOT_SCHEDULED}
    assert all(s.target_date is None for s in states)
