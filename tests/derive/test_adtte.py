"""ADTTE derivation on hand-made subjects (expected values worked by hand from TRIAL.md 5).

Time 0 = study day 1 = 1 Jan 2014 (first rATG dose); days = event date - 1 Jan
2014; months = days / 30.4375; CNSR 0 = event, 1 = censored. Data cut-off
31 Dec 2015 (729 days).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from saatrial.derive import derive_all
from saatrial.protocol import load_protocol

from ._builder import Builder, sd


def tte_row(tte, sid, paramcd):
    r = tte[(tte["SUBJID"] == sid) & (tte["PARAMCD"] == paramcd)]
    assert len(r) == 1, (sid, paramcd)
    return r.iloc[0]


@pytest.fixture(scope="module")
def derived():
    b = Builder()
    b.subject("S1").event("S1", "HSCT", sd(201), donor_type="HAPLO")
    b.event("S1", "LAST_CONTACT", date(2015, 6, 30))
    b.subject("S2").event("S2", "DEATH", sd(101), death_cause="bleeding")
    b.subject("S3")  # no outcome event: in follow-up at the cut-off
    b.subject("S4", day1=None)  # never given rATG
    b.subject("S5").event("S5", "HSCT", sd(-3))  # an event before study day 1
    b.subject("S6").event("S6", "LOST_TO_FOLLOW_UP", sd(186))
    # S7: PR at day 88, then counts back in the SAA range on day 213 and a PLT
    # transfusion on day 215: relapse (D16) on day 215, not recorded
    b.subject("S7")
    b.counts("S7", sd(-1), anc=0.1, plt=10, hgb=70, arc=10)
    b.tx("S7", sd(20), "PLT")
    b.counts("S7", sd(88), anc=0.8, plt=30, hgb=95, arc=45)
    b.counts("S7", sd(213), anc=0.3, plt=12, hgb=90, arc=40)
    b.tx("S7", sd(215), "PLT")
    return derive_all(b.build())


def test_censored_os_and_failure_at_hsct(derived):
    os_ = tte_row(derived.adtte, "S1", "OS")
    assert os_["AVALDAY"] == 545  # 30 Jun 2015 - 1 Jan 2014
    assert os_["AVAL"] == pytest.approx(545 / 30.4375)
    assert (os_["CNSR"], os_["EVNTDESC"], os_["CNSDTDSC"]) == (
        1,
        "censored: LAST_CONTACT",
        "censored: LAST_CONTACT",
    )
    assert os_["STARTDT"] == pd.Timestamp("2014-01-01") and os_["AVALU"] == "MONTHS"
    ffs = tte_row(derived.adtte, "S1", "FFS")
    assert (ffs["AVALDAY"], ffs["CNSR"]) == (200, 0)  # HSCT: treatment failure (D15)
    assert ffs["ADT"] == pd.Timestamp(sd(201))
    assert ffs["EVNTDESC"] == "treatment failure: HSCT (salvage start, D15)"
    assert pd.isna(ffs["CNSDTDSC"])


def test_death_is_an_event_of_both(derived):
    for paramcd in ("OS", "FFS"):
        r = tte_row(derived.adtte, "S2", paramcd)
        assert (r["AVALDAY"], r["CNSR"], r["EVNTDESC"]) == (100, 0, "death (bleeding)")


def test_censored_at_cutoff_and_at_loss(derived):
    r = tte_row(derived.adtte, "S3", "OS")
    assert (r["AVALDAY"], r["CNSR"]) == (729, 1)
    assert r["EVNTDESC"] == "censored at data cut-off (in follow-up)"
    r = tte_row(derived.adtte, "S6", "FFS")
    assert (r["AVALDAY"], r["CNSR"], r["EVNTDESC"]) == (185, 1, "censored: LOST_TO_FOLLOW_UP")


def test_subjects_without_origin_or_with_bad_events_are_excluded_with_a_note(derived):
    assert set(derived.adtte["SUBJID"]) == {"S1", "S2", "S3", "S6", "S7"}
    messages = [str(n) for n in derived.notes]
    assert (
        "ADTTE: S4: no first rATG dose (TRTSDT): no time origin; excluded from OS and FFS"
        in messages
    )
    bad = [m for m in messages if m.startswith("ADTTE: S5: OS/FFS not derived")]
    assert len(bad) == 1 and "before study day 1" in bad[0]


def test_relapse_found_in_the_data_ends_ffs(derived):
    ffs = tte_row(derived.adtte, "S7", "FFS")
    assert (ffs["AVALDAY"], ffs["CNSR"], ffs["EVNTDESC"]) == (214, 0, "relapse (D16)")
    assert tte_row(derived.adtte, "S7", "OS")["CNSR"] == 1
    assert any(
        str(n).startswith("ADTTE: S7: relapse found in the data but not recorded (D16)")
        for n in derived.notes
    )


def test_d15_option_dates_failure_at_the_first_nr_at_6_months():
    b = Builder()
    b.subject("S1").response("S1", "D180", sd(181), "NR")
    b.event("S1", "HSCT", sd(250))
    study = b.build()
    default = derive_all(study).adtte
    assert tte_row(default, "S1", "FFS")["AVALDAY"] == 249  # D15 default: salvage start
    proto = load_protocol()
    option = replace(
        proto, decisions={**proto.decisions, "D15_failure_date": "first_nr_at_6_months"}
    )
    ffs = tte_row(derive_all(study, option).adtte, "S1", "FFS")
    assert (ffs["AVALDAY"], ffs["CNSR"]) == (180, 0)
    assert ffs["EVNTDESC"] == "treatment failure: NR at D180 (D15 option)"


def test_d16_clonal_evolution_counts_only_with_the_option():
    b = Builder()
    b.subject("S1").event("S1", "CLONAL_EVOLUTION", sd(300))
    b.event("S1", "LAST_CONTACT", date(2015, 6, 30))
    study = b.build()
    assert tte_row(derive_all(study).adtte, "S1", "FFS")["CNSR"] == 1  # off by default
    proto = load_protocol()
    option = replace(
        proto, decisions={**proto.decisions, "D16_ffs_includes_clonal_evolution": True}
    )
    ffs = tte_row(derive_all(study, option).adtte, "S1", "FFS")
    assert (ffs["AVALDAY"], ffs["CNSR"]) == (299, 0)
    assert derive_all(study).adsl.set_index("SUBJID").loc["S1", "CLONFL"] == "Y"
