"""The analysis datasets of the bundled study reproduce the paper's figures.

Published values (Lan et al., BMC Pediatr 2021;21:102, Results; restated in
shared/spec/published_results.yaml) are typed in here, not read from the code:

- 18 children, 9 per arm; MSC arm: 7 of 9 vSAA, age at diagnosis median 4
  (range 1-10) years, diagnosis to rATG median 26 (9-159) days, baseline ANC
  0.07 (0-0.36), PLT 10 (1-18), HGB 76 (47-117), ARC 5.4 (2.6-32.8); all nine
  received the three UC-MSC doses;
- day-90 response MSC 1 PR / 8 NR, control 2 PR / 7 NR, no CR;
- 4-year OS 88.9 +/- 10.5 % in both arms; FFS MSC 38.1 +/- 17.2 %, control
  66.7 +/- 15.7 % (Kaplan-Meier with Greenwood SE, written out below);
- median follow-up 48 months (range 5-54);
- 4 MSC patients (44 %) with anaphylactic reactions (3 grade 1-2, 1 grade 3),
  ATG-related, one of them with grade 2 oral mucositis; one severe (grade >= 3)
  infection per arm.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter

import pandas as pd
import pytest


def _median_range(values) -> tuple[float, float, float]:
    v = [float(x) for x in values]
    return statistics.median(v), min(v), max(v)


# ----------------------------------------------------------------------------- ADSL
def test_adsl_one_row_per_subject_nine_per_arm(bundled):
    adsl = bundled.adsl
    assert len(adsl) == 18
    assert adsl["USUBJID"].is_unique
    assert Counter(adsl["ARMCD"]) == {"MSC": 9, "CONTROL": 9}
    assert (adsl["ITTFL"] == "Y").all() and (adsl["SAFFL"] == "Y").all()
    assert (adsl["TRT01A"] == adsl["TRT01P"]).all()


def test_adsl_msc_baseline_matches_publication(bundled):
    msc = bundled.adsl[bundled.adsl["ARMCD"] == "MSC"]
    assert Counter(msc["SEVBL"]) == {"VSAA": 7, "SAA": 2}
    assert Counter(msc["SEX"]) == {"M": 3, "F": 6}
    assert _median_range(msc["AGE"]) == (4, 1, 10)
    assert _median_range(msc["DIAG2TRT"]) == (26, 9, 159)
    assert _median_range(msc["BANC"]) == pytest.approx((0.07, 0.0, 0.36))
    assert _median_range(msc["BPLT"]) == (10, 1, 18)
    assert _median_range(msc["BHGB"]) == (76, 47, 117)
    assert _median_range(msc["BARC"]) == pytest.approx((5.4, 2.6, 32.8))
    assert (msc["MSCDOSN"] == 3).all() and (msc["MSCDOSPL"] == 3).all()


def test_adsl_control_baseline_anc_and_no_msc(bundled):
    ctl = bundled.adsl[bundled.adsl["ARMCD"] == "CONTROL"]
    assert statistics.median(ctl["BANC"]) == pytest.approx(0.13)  # Discussion
    assert (ctl["MSCDOSN"] == 0).all() and (ctl["MSCDOSPL"] == 0).all()


def test_adsl_every_child_eligible(bundled):
    assert (bundled.adsl["ELIGFL"] == "Y").all(), bundled.adsl["ELIGFAIL"].dropna().tolist()


def test_adsl_outcomes(bundled):
    adsl = bundled.adsl.set_index("SUBJID")
    assert sorted(adsl.index[adsl["DTHFL"] == "Y"]) == ["CTL06", "MSC06"]
    assert Counter(adsl.loc[adsl["HSCTFL"] == "Y", "ARMCD"]) == {"MSC": 4, "CONTROL": 2}
    assert Counter(adsl["HSCTDON"].dropna()) == {"HAPLO": 5, "MUD": 1}
    assert list(adsl.index[adsl["LTFUFL"] == "Y"]) == ["MSC07"]
    assert (adsl["RLPSFL"] == "N").all() and (adsl["CLONFL"] == "N").all()
    fu = adsl["FUMO"].sort_values().tolist()
    assert round(statistics.median(fu)) == 48
    assert (round(fu[0]), round(fu[-1])) == (5, 54)
    # the dead were last known alive on the day they died (their last record)
    assert adsl.loc["MSC06", "LSTALVDT"] == adsl.loc["MSC06", "DTHDT"]
    assert adsl.loc["CTL01", "LSTALVDT"] == pd.Timestamp("2018-04-13")


def test_adsl_best_response_by_day_90(bundled):
    adsl = bundled.adsl
    best = adsl.groupby("ARMCD")["BESTR90"].apply(Counter).unstack(fill_value=0)
    assert best.loc["MSC", "PR"] == 1 and best.loc["CONTROL", "PR"] == 2
    assert "CR" not in adsl["BESTR90"].tolist()


# ----------------------------------------------------------------------------- ADRS
def test_adrs_day90_computed_equals_recorded(bundled):
    rs = bundled.adrs
    d90 = rs[(rs["PARAMCD"] == "RSP") & (rs["AVISIT"] == "D90")]
    assert len(d90) == 18
    assert (d90["AVALC"] == d90["RECRSP"]).all()
    counts = {arm: Counter(g["AVALC"]) for arm, g in d90.groupby("ARMCD")}
    assert counts == {"MSC": {"PR": 1, "NR": 8}, "CONTROL": {"PR": 2, "NR": 7}}


def test_adrs_every_recorded_response_is_reproduced(bundled, bundled_study):
    rs = bundled.adrs
    recorded = rs[rs["RECRSP"].notna() & (rs["PARAMCD"] == "RSP")]
    assert len(recorded) == len(bundled_study["response_assessments"])
    assert (recorded["AGREEFL"] == "Y").all()
    assert (recorded["ADT"] == recorded["RECDT"]).all()
    assert not [n for n in bundled.notes if "but recorded" in n.message]


def test_adrs_shape_and_best_rows(bundled):
    rs = bundled.adrs
    assert Counter(rs["PARAMCD"]) == {"RSP": 54, "BESTRSP90": 18, "BESTRSP180": 18}
    assert not rs.duplicated(["USUBJID", "PARAMCD", "AVISIT"]).any()
    best180 = rs[rs["PARAMCD"] == "BESTRSP180"].set_index("SUBJID")["AVALC"]
    # late responders (PR at D180 only) count in the best response by day 180
    assert best180["MSC04"] == "PR"
    assert (rs.loc[rs["ADY"].notna(), "ADY"] != 0).all()


# ----------------------------------------------------------------------------- ADTTE
def km_at(times: list[float], events: list[bool], t: float) -> tuple[float, float]:
    """Kaplan-Meier S(t) with Greenwood SE (events before censorings at ties)."""
    s, greenwood = 1.0, 0.0
    for u in sorted({x for x, e in zip(times, events, strict=True) if e and x <= t}):
        n = sum(1 for x in times if x >= u)
        d = sum(1 for x, e in zip(times, events, strict=True) if e and x == u)
        s *= 1 - d / n
        greenwood += d / (n * (n - d)) if n > d else math.inf
    return s, s * math.sqrt(greenwood)


@pytest.mark.parametrize(
    ("paramcd", "arm", "est", "se"),
    [
        ("OS", "MSC", 0.889, 0.105),
        ("OS", "CONTROL", 0.889, 0.105),
        ("FFS", "MSC", 0.381, 0.172),
        ("FFS", "CONTROL", 0.667, 0.157),
    ],
)
def test_adtte_reproduces_four_year_km(bundled, paramcd, arm, est, se):
    tte = bundled.adtte
    rows = tte[(tte["PARAMCD"] == paramcd) & (tte["ARMCD"] == arm)]
    assert len(rows) == 9
    # ADaM: CNSR 0 = event, so the event indicator is CNSR == 0
    s, sd_ = km_at(rows["AVAL"].tolist(), (rows["CNSR"] == 0).tolist(), 48.0)
    assert round(s, 3) == pytest.approx(est, abs=1e-9)
    assert round(sd_, 3) == pytest.approx(se, abs=1e-9)


def test_adtte_cnsr_convention_and_units(bundled):
    tte = bundled.adtte
    assert set(tte["CNSR"]) == {0, 1}
    os_ = tte[tte["PARAMCD"] == "OS"].set_index("SUBJID")
    ffs = tte[tte["PARAMCD"] == "FFS"].set_index("SUBJID")
    assert sorted(os_.index[os_["CNSR"] == 0]) == ["CTL06", "MSC06"]  # the two deaths
    assert Counter(ffs.loc[ffs["CNSR"] == 0, "ARMCD"]) == {"MSC": 5, "CONTROL": 3}
    assert ffs.loc["MSC07", "CNSR"] == 1 and "LOST_TO_FOLLOW_UP" in ffs.loc["MSC07", "EVNTDESC"]
    assert (tte["AVAL"] == tte["AVALDAY"] / 30.4375).all()
    assert ((tte["ADT"] - tte["STARTDT"]).dt.days == tte["AVALDAY"]).all()
    assert tte.loc[tte["CNSR"] == 0, "CNSDTDSC"].isna().all()
    assert tte.loc[tte["CNSR"] == 1, "CNSDTDSC"].notna().all()
    # HSCT does not censor OS: the MSC01 transplant is an FFS event, OS goes on
    assert ffs.loc["MSC01", "ADT"] == pd.Timestamp("2014-07-13")
    assert os_.loc["MSC01", "CNSR"] == 1 and os_.loc["MSC01", "ADT"] == pd.Timestamp("2018-04-13")


# ----------------------------------------------------------------------------- ADLB
def test_adlb_one_analysis_record_per_subject_param_visit(bundled):
    lb = bundled.adlb
    flagged = lb[lb["ANL01FL"] == "Y"]
    assert flagged["AVISIT"].notna().all()
    assert lb.loc[lb["ANL01FL"] != "Y", "AVISIT"].isna().all()
    per = flagged.groupby(["USUBJID", "PARAMCD", "AVISIT"]).size()
    assert (per == 1).all()
    # every subject has a baseline of the four counts and of the T-cell percentages
    for param in ("ANC", "PLT", "HGB", "ARC", "CD4PCT", "CD8PCT", "TREGPCT"):
        base = flagged[(flagged["PARAMCD"] == param) & (flagged["AVISIT"] == "BASELINE")]
        assert base["USUBJID"].nunique() == 18, param
    tcell_visits = set(flagged.loc[flagged["PARCAT1"] == "T-CELL SUBSETS", "AVISIT"])
    assert tcell_visits == {"BASELINE", "D40"}


def test_adlb_visit_record_is_the_nearest_in_window(bundled):
    """Re-pick the D9 record with plain pandas and compare with ANL01FL."""
    lb = bundled.adlb
    adsl = bundled.adsl.set_index("USUBJID")
    windows = {"D40": (40, 7), "D90": (90, 14), "D180": (180, 30)}  # D9, TRIAL.md 3
    records = lb.drop_duplicates(["USUBJID", "PARAMCD", "ADT"])
    records = records[records["PARCAT1"] != "T-CELL SUBSETS"]
    for (usubjid, param), g in records.groupby(["USUBJID", "PARAMCD"]):
        day1 = adsl.loc[usubjid, "TRTSDT"]
        for visit, (target, half) in windows.items():
            target_date = day1 + pd.Timedelta(days=target - 1)
            with_dist = g.assign(dist=(g["ADT"] - target_date).dt.days.abs())
            inside = with_dist[with_dist["dist"] <= half]
            flagged = lb[
                (lb["USUBJID"] == usubjid) & (lb["PARAMCD"] == param) & (lb["AVISIT"] == visit)
            ]
            if inside.empty:
                assert flagged.empty, (usubjid, param, visit)
                continue
            expected = inside.sort_values(["dist", "ADT"]).iloc[0]["ADT"]
            assert flagged["ADT"].tolist() == [expected], (usubjid, param, visit)


def test_adlb_study_days_and_baseline(bundled):
    lb = bundled.adlb
    adsl = bundled.adsl.set_index("USUBJID")
    assert (lb["ADY"] != 0).all()
    day1 = lb["USUBJID"].map(adsl["TRTSDT"])
    delta = (lb["ADT"] - day1).dt.days
    assert (lb["ADY"] == delta.where(delta < 0, delta + 1)).all()
    base = lb[lb["ABLFL"] == "Y"]
    assert (base["ADT"] <= base["USUBJID"].map(adsl["TRTSDT"])).all()
    assert (base["AVAL"] == base["BASE"]).all()
    post = lb[(lb["ADY"] > 1) & lb["BASE"].notna()]
    assert (post["CHG"] - (post["AVAL"] - post["BASE"])).abs().max() < 1e-12
    # the baseline ANC of ADLB is ADSL's BANC
    banc = base[base["PARAMCD"] == "ANC"].set_index("USUBJID")["AVAL"]
    assert (banc == adsl.loc[banc.index, "BANC"]).all()


def test_adlb_saa_cytopenias_are_not_treatment_emergent(bundled):
    lb = bundled.adlb
    anc = lb[lb["PARAMCD"] == "ANC"]
    assert (anc.loc[anc["ABLFL"] == "Y", "ATOXGR"] >= 3).all()  # SAA: ANC < 0.5 (grade 4)
    # D18: a post-baseline grade counts only when worse than the baseline grade
    te = lb[lb["TRTEMFL"] == "Y"]
    assert (te["ATOXGR"] > te["BTOXGR"].fillna(-1)).all()
    assert (te["PARAMCD"] != "ANC").all() and (te["PARAMCD"] != "PLT").all()
    # the recorded grade-1 lab AEs (CTL03 ALT at day 40, MSC04 Mg at day 90) are there
    alt = te[(te["SUBJID"] == "CTL03") & (te["PARAMCD"] == "ALT")]
    mg = te[(te["SUBJID"] == "MSC04") & (te["PARAMCD"] == "MG")]
    assert alt["ATOXGR"].tolist() == [1] and mg["ATOXGR"].tolist() == [1]


# ----------------------------------------------------------------------------- ADAE
def test_adae_anaphylactic_reactions_in_msc_arm(bundled):
    ae = bundled.adae
    allergy = ae[ae["AEDECOD"].isin(["Allergic reaction", "Anaphylaxis"]) & (ae["ARMCD"] == "MSC")]
    assert allergy["USUBJID"].nunique() == 4  # 44 %
    worst = allergy[allergy["AOCCPIFL"] == "Y"]
    assert len(worst) == 4
    assert Counter(worst["GRDBAND"]) == {"1-2": 3, "3-4": 1}
    assert worst.loc[worst["AETOXGR"] == 3, "AEDECOD"].tolist() == ["Anaphylaxis"]
    # D17: the grade 1-2 reactions are coded "Allergic reaction"
    assert set(worst.loc[worst["AETOXGR"] < 3, "AEDECOD"]) == {"Allergic reaction"}
    assert set(allergy["ARELRATG"]) <= {"POSSIBLE", "PROBABLE", "DEFINITE"}  # ATG-related
    mucositis = ae[(ae["AEDECOD"] == "Mucositis oral") & (ae["AETOXGR"] == 2)]
    assert len(mucositis) == 1  # "one of them complicated with grade 2 oral mucositis"
    assert mucositis["USUBJID"].iloc[0] in set(allergy["USUBJID"])


def test_adae_severe_infections_one_per_arm(bundled):
    ae = bundled.adae
    infections = ae[ae["AEDECOD"].isin(["Sepsis", "Lung infection"]) & (ae["AETOXGR"] >= 3)]
    assert Counter(infections["ARMCD"]) == {"MSC": 1, "CONTROL": 1}


def test_adae_flags(bundled):
    ae = bundled.adae
    assert len(ae) == 23
    assert (ae["TRTEMFL"] == "Y").all()  # every recorded AE began on or after day 1
    assert (ae["GRDVALFL"] == "Y").all()
    assert (ae["ASTDY"] >= 1).all()
    assert ae.groupby("USUBJID")["AOCCIFL"].apply(lambda s: (s == "Y").sum()).eq(1).all()
    assert not [n for n in bundled.notes if n.dataset == "ADAE"]
