"""ADRS derivation on hand-made subjects (expected values worked by hand from TRIAL.md 4).

cn-peds-2014: CR = ANC > 1.5 and PLT > 100 and Hb normal for age (WHO 2011:
110 g/L at 6-59 months, D13) and transfusion independent (D12); PR = TI and
ANC > 0.5 and PLT > 20 and ARC - baseline ARC > 30 (D10); NR = transfusion
dependence or death; otherwise NR by fallback (D14). TI = no RBC/PLT
transfusion in the 28 days up to the assessment, both ends included (D11).
Every child is born 1 Dec 2009 (4 years old in 2014); study day 1 = 1 Jan 2014;
baseline ARC 10 on day -1.
"""

from __future__ import annotations

import pandas as pd
import pytest

from saatrial.derive import derive_all

from ._builder import Builder, sd, vals


def responder(b, sid: str, *, anc=0.8, plt=30, hgb=95, arc=45, tx_day=20, **kw) -> None:
    """Baseline on day -1; last transfusion on ``tx_day``; D90 counts on day 88."""
    b.subject(sid, **kw)
    b.counts(sid, sd(-1), anc=0.1, plt=10, hgb=70, arc=10)
    b.tx(sid, sd(tx_day), "PLT")
    b.counts(sid, sd(88), anc=anc, plt=plt, hgb=hgb, arc=arc)


def rsp(adrs, sid, visit):
    r = adrs[(adrs["SUBJID"] == sid) & (adrs["PARAMCD"] == "RSP") & (adrs["AVISIT"] == visit)]
    assert len(r) == 1
    return r.iloc[0]


def best(adrs, sid, paramcd):
    r = adrs[(adrs["SUBJID"] == sid) & (adrs["PARAMCD"] == paramcd)]
    assert len(r) == 1
    return r.iloc[0]


@pytest.fixture(scope="module")
def derived():
    b = Builder()
    responder(b, "S1")  # PR at D90
    b.counts("S1", sd(40), anc=0.3, plt=15, hgb=80, arc=12)  # D40: transfused on day 20
    b.response("S1", "D40", sd(40), "NR")
    b.response("S1", "D90", sd(88), "NR")  # recorded NR: disagrees with the data
    responder(b, "S2", arc=40)  # ARC rise exactly 30: not > 30 (D10)
    responder(b, "S3", tx_day=60)  # transfusion 28 days before day 88 (D11)
    responder(b, "S4", tx_day=59)  # 29 days before: independent
    responder(b, "S5", anc=2.0, plt=120, hgb=110, arc=60)  # Hb 110 = WHO limit: CR
    responder(b, "S6", anc=2.0, plt=120, hgb=109, arc=60)  # Hb 109: not normal -> PR
    b.subject("S7")
    b.event("S7", "DEATH", sd(80), death_cause="bleeding")
    b.subject("S8", day1=None)
    return derive_all(b.build())


def test_partial_response_with_values_used(derived):
    r = rsp(derived.adrs, "S1", "D90")
    assert r["AVALC"] == "PR"
    assert r["DECIDEBY"].startswith("PR:")
    assert r["ADT"] == pd.Timestamp(sd(88)) and r["ADY"] == 88
    assert (r["ANC"], r["PLT"], r["HGB"], r["ARC"]) == (0.8, 30, 95, 45)
    assert r["BARC"] == 10 and r["ARCINCR"] == 35
    assert (r["TIFL"], r["HGBNRMFL"], r["BYFALLFL"]) == ("Y", "N", "N")
    assert r["CRITSET"] == "cn-peds-2014" and r["AVISITN"] == 90


def test_transfusion_dependence_is_nr(derived):
    r = rsp(derived.adrs, "S1", "D40")
    assert r["AVALC"] == "NR" and r["TIFL"] == "N"
    assert r["DECIDEBY"] == "NR: transfusion dependence persists"
    assert r["RECRSP"] == "NR" and r["AGREEFL"] == "Y"


@pytest.mark.parametrize(
    ("sid", "avalc", "fallback"),
    [
        ("S2", "NR", "Y"),  # D10: 40 - 10 = 30 is not > 30; TI -> neither CR nor PR (D14)
        ("S3", "NR", "N"),  # D11: day 60 is inside [day 60, day 88]
        ("S4", "PR", "N"),  # day 59 is outside
        ("S5", "CR", "N"),  # D13: Hb at the limit is normal
        ("S6", "PR", "N"),
    ],
)
def test_boundaries(derived, sid, avalc, fallback):
    r = rsp(derived.adrs, sid, "D90")
    assert (r["AVALC"], r["BYFALLFL"]) == (avalc, fallback)


def test_missing_visit_is_ne(derived):
    r = rsp(derived.adrs, "S1", "D180")
    assert r["AVALC"] == "NE" and pd.isna(r["ADT"])
    assert "no blood counts in window" in r["DECIDEBY"]
    assert "anc_1e9_per_l" in r["MISSVAR"]
    assert pd.isna(r["RECRSP"]) and pd.isna(r["AGREEFL"])


def test_death_before_visit_is_nr(derived):
    adrs = derived.adrs
    assert rsp(adrs, "S7", "D40")["AVALC"] == "NE"  # alive at day 40, no counts
    d90 = rsp(adrs, "S7", "D90")
    assert (d90["AVALC"], d90["DECIDEBY"]) == ("NR", "NR: death")
    assert d90["ADT"] == pd.Timestamp(sd(80))
    assert rsp(adrs, "S7", "D180")["AVALC"] == "NR"


def test_subject_without_ratg_is_not_evaluable(derived):
    adrs = derived.adrs
    rows = adrs[adrs["SUBJID"] == "S8"]
    assert vals(rows["AVALC"]) == ["NE"] * 5
    assert rsp(adrs, "S8", "D90")["DECIDEBY"] == "not evaluable: no first rATG dose (TRTSDT, D7)"


def test_best_response(derived):
    adrs = derived.adrs
    b90 = best(adrs, "S1", "BESTRSP90")
    assert (b90["AVALC"], b90["SRCAVIS"], b90["ADY"]) == ("PR", "D90", 88)
    assert (b90["RECRSP"], b90["AGREEFL"]) == ("NR", "N")  # best recorded: NR
    assert best(adrs, "S1", "BESTRSP180")["AVALC"] == "PR"
    assert best(adrs, "S7", "BESTRSP90")["AVALC"] == "NR"  # NE at D40, NR (death) at D90
    assert best(adrs, "S8", "BESTRSP180")["AVALC"] == "NE"
    adsl = derived.adsl.set_index("SUBJID")
    assert adsl.loc["S1", "BESTR90"] == "PR" and adsl.loc["S5", "BESTR180"] == "CR"


def test_mismatch_with_recorded_response_is_noted(derived):
    messages = [str(n) for n in derived.notes]
    assert (
        "ADRS: S1: D90: computed PR (PR: TI and ANC > 0.5 and PLT > 20 and ARC rise (D10)) "
        "but recorded NR" in messages
    )
    assert not any(m.startswith("ADRS: S1: D40") for m in messages)
