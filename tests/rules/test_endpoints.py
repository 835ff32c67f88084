"""OS, FFS, follow-up and relapse, hand-worked from TRIAL.md section 5, D15, D16.

Day counts are worked out by hand from the calendar (day 1 itself is time 0):
1 Jan 2014 -> 1 Jun 2014 = 31+28+31+30+31 = 151 days; -> 30 Jun 2014 = 180;
-> 1 Jul 2014 = 181; -> 1 Sep 2014 = 243; -> 1 Jan 2015 = 365;
-> 1 Jan 2018 = 4 x 365 + 1 (2016) = 1461; -> 1 Apr 2018 = 1461 + 90 = 1551;
-> 13 Apr 2018 = 1563.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from saatrial.rules.endpoints import (
    EndpointOptions,
    FailureDating,
    derive_endpoints,
    detect_relapse,
)

DAY1 = "2014-01-01"
CUTOFF = "2018-04-13"


def events(*rows):
    return pd.DataFrame(
        {
            "subject_id": ["S1"] * len(rows),
            "event_type": [r[0] for r in rows],
            "event_date": [r[1] for r in rows],
            "death_cause": [r[2] if len(r) > 2 else None for r in rows],
        },
        columns=["subject_id", "event_type", "event_date", "death_cause"],
    )


def test_no_events_censored_at_cutoff():
    e = derive_endpoints(DAY1, events(), CUTOFF)
    assert (e.os_days, e.os_event, e.ffs_days, e.ffs_event) == (1563, False, 1563, False)
    assert e.os_months == pytest.approx(1563 / 30.4375)
    assert e.last_known_alive == date(2018, 4, 13)
    assert "cut-off" in e.os_reason
    assert e.follow_up_days == 1563


def test_death_is_os_and_ffs_event():
    e = derive_endpoints(DAY1, events(("DEATH", "2014-06-01", "serious infection")), CUTOFF)
    assert (e.os_days, e.os_event, e.ffs_days, e.ffs_event) == (151, True, 151, True)
    assert e.os_reason == "death (serious infection)"
    assert e.os_months == pytest.approx(151 / 30.4375)  # 4.96 months
    assert e.last_known_alive is None


def test_hsct_is_failure_but_does_not_censor_os():
    ev = events(("HSCT", "2014-09-01"), ("LAST_CONTACT", "2018-04-01"))
    e = derive_endpoints(DAY1, ev, CUTOFF)
    assert (e.os_days, e.os_event) == (1551, False)  # HSCT does not censor OS
    assert e.os_reason == "censored: LAST_CONTACT"
    assert (e.ffs_days, e.ffs_event) == (243, True)  # D15: salvage start
    assert e.ffs_reason == "treatment failure: HSCT (salvage start, D15)"


def test_salvage_ist_is_failure():
    e = derive_endpoints(DAY1, events(("SALVAGE_IST", "2014-07-01")), CUTOFF)
    assert (e.ffs_days, e.ffs_event) == (181, True)
    assert (e.os_days, e.os_event) == (1563, False)


def test_lost_to_follow_up_censors_both():
    e = derive_endpoints(DAY1, events(("LOST_TO_FOLLOW_UP", "2014-07-01")), CUTOFF)
    assert (e.os_days, e.os_event, e.ffs_days, e.ffs_event) == (181, False, 181, False)
    assert e.os_reason == "censored: LOST_TO_FOLLOW_UP"


def test_events_after_cutoff_do_not_count():
    e = derive_endpoints(DAY1, events(("DEATH", "2018-05-01")), CUTOFF)
    assert (e.os_days, e.os_event) == (1563, False)
    assert "death after cut-off" in e.os_reason
    e = derive_endpoints(DAY1, events(("LAST_CONTACT", "2018-06-01")), CUTOFF)
    assert (e.os_days, e.last_known_alive) == (1563, date(2018, 4, 13))
    e = derive_endpoints(DAY1, events(("HSCT", "2018-05-01")), CUTOFF)
    assert not e.ffs_event


def test_clonal_evolution_only_with_option_d16():
    ev = events(("CLONAL_EVOLUTION", "2015-01-01"))
    e = derive_endpoints(DAY1, ev, CUTOFF)
    assert not e.ffs_event and e.clonal_evolution_date == date(2015, 1, 1)
    e = derive_endpoints(
        DAY1, ev, CUTOFF, options=EndpointOptions(ffs_includes_clonal_evolution=True)
    )
    assert (e.ffs_days, e.ffs_event) == (365, True)


def test_relapse_event_and_detected_relapse():
    e = derive_endpoints(DAY1, events(("RELAPSE", "2015-01-01")), CUTOFF)
    assert (e.ffs_days, e.ffs_event, e.ffs_reason) == (365, True, "relapse (D16)")
    e = derive_endpoints(DAY1, events(), CUTOFF, relapse_date="2014-09-01")
    assert (e.ffs_days, e.ffs_event) == (243, True)


def test_first_of_several_events():
    ev = events(("HSCT", "2014-09-01"), ("RELAPSE", "2014-06-01"), ("DEATH", "2015-01-01"))
    e = derive_endpoints(DAY1, ev, CUTOFF)
    assert (e.ffs_days, e.ffs_reason) == (151, "relapse (D16)")
    assert (e.os_days, e.os_event) == (365, True)


def test_d15_option_first_nr_at_6_months():
    ev = events(("HSCT", "2014-09-01"))
    responses = pd.DataFrame(
        {
            "subject_id": ["S1", "S1"],
            "visit": ["D90", "D180"],
            "assessment_date": ["2014-04-01", "2014-06-30"],
            "response": ["NR", "NR"],
        }
    )
    opts = EndpointOptions(failure_date=FailureDating.FIRST_NR_AT_6_MONTHS)
    e = derive_endpoints(DAY1, ev, CUTOFF, responses, opts, subject_id="S1")
    assert (e.ffs_days, e.ffs_event) == (180, True)
    assert "NR at D180" in e.ffs_reason
    # a PR at 6 months: failure falls back to the salvage start
    responses.loc[1, "response"] = "PR"
    e = derive_endpoints(DAY1, ev, CUTOFF, responses, opts, subject_id="S1")
    assert e.ffs_days == 243
    assert EndpointOptions.from_decisions(
        {"D15_failure_date": "first_nr_at_6_months", "D16_ffs_includes_clonal_evolution": True}
    ) == EndpointOptions(FailureDating.FIRST_NR_AT_6_MONTHS, True)


def test_subject_selection():
    ev = pd.concat(
        [events(("DEATH", "2014-06-01")), events(("HSCT", "2014-09-01")).assign(subject_id="S2")]
    )
    assert derive_endpoints(DAY1, ev, CUTOFF, subject_id="S2").ffs_days == 243
    with pytest.raises(ValueError, match="several subjects"):
        derive_endpoints(DAY1, ev, CUTOFF)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ((("HSCT", "2013-12-31"),), "before study day 1"),
        ((("DEATH", "2014-06-01"), ("DEATH", "2014-07-01")), "more than one"),
        ((("DEATH", "2014-06-01"), ("LAST_CONTACT", "2014-07-01")), "after the death"),
        ((("TRANSFER", "2014-06-01"),), "event_type: one of"),
        ((("DEATH", "2014-06-31"),), "event_date"),
    ],
)
def test_bad_events_raise(rows, message):
    with pytest.raises(ValueError, match=message):
        derive_endpoints(DAY1, events(*rows), CUTOFF)


# ---------------------------------------------------------------- relapse (D16)
def relapse_tables(counts, tx_rows):
    labs = pd.DataFrame(
        [
            ("S1", d, t, v, "Y")
            for d, vals in counts
            for t, v in zip(("ANC", "PLT", "ARC"), vals, strict=True)
        ],
        columns=["subject_id", "lab_date", "test", "value", "pre_transfusion"],
    )
    tx = pd.DataFrame(
        [("S1", d, p) for d, p in tx_rows], columns=["subject_id", "transfusion_date", "product"]
    )
    return labs, tx


RESPONSE_DATE = "2014-04-01"


def test_relapse_needs_saa_counts_and_transfusion():
    labs, tx = relapse_tables([("2014-08-01", (0.3, 12, 40))], [("2014-08-03", "PLT")])
    r = detect_relapse(labs, tx, "S1", RESPONSE_DATE)
    assert r.relapsed
    assert (r.count_date, r.transfusion_date, r.relapse_date) == (
        date(2014, 8, 1),
        date(2014, 8, 3),
        date(2014, 8, 3),
    )
    assert set(r.criteria_met) == {"ANC 0.3 < 0.5", "PLT 12 < 20"}


def test_transfusion_before_low_counts_dates_relapse_at_counts():
    labs, tx = relapse_tables([("2014-08-01", (0.3, 12, 40))], [("2014-07-20", "RBC")])
    r = detect_relapse(labs, tx, "S1", RESPONSE_DATE)
    assert r.relapsed and r.relapse_date == date(2014, 8, 1)


@pytest.mark.parametrize(
    ("tx_date", "relapsed"),
    [("2014-08-29", True), ("2014-08-30", False)],  # 28 and 29 days after the counts
)
def test_relapse_transfusion_window(tx_date, relapsed):
    labs, tx = relapse_tables([("2014-08-01", (0.3, 12, 40))], [(tx_date, "RBC")])
    assert detect_relapse(labs, tx, "S1", RESPONSE_DATE).relapsed is relapsed


def test_no_relapse_when_only_one_criterion_or_no_transfusion():
    labs, tx = relapse_tables([("2014-08-01", (0.3, 40, 40))], [("2014-08-03", "PLT")])
    r = detect_relapse(labs, tx, "S1", RESPONSE_DATE)
    assert not r.relapsed and "never back in the SAA range" in r.reason
    labs, tx = relapse_tables([("2014-08-01", (0.3, 12, 40))], [])
    r = detect_relapse(labs, tx, "S1", RESPONSE_DATE)
    assert not r.relapsed and "no transfusion within 28 d" in r.reason


def test_only_data_after_the_response_count():
    # low counts and a transfusion before the response are the original disease
    labs, tx = relapse_tables(
        [("2014-03-01", (0.1, 5, 5)), ("2014-08-01", (1.2, 80, 70))], [("2014-03-02", "PLT")]
    )
    assert not detect_relapse(labs, tx, "S1", RESPONSE_DATE).relapsed
    # data after `until` are ignored
    labs, tx = relapse_tables([("2014-08-01", (0.3, 12, 40))], [("2014-08-03", "PLT")])
    assert not detect_relapse(labs, tx, "S1", RESPONSE_DATE, until="2014-07-31").relapsed
