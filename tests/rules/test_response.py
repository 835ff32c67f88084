"""Haematologic response, hand-worked from TRIAL.md section 4 (D9-D14).

cn-peds-2014 (this trial): CR ANC > 1.5 and PLT > 100 and Hb normal for age
(and TI, D12); PR TI and ANC > 0.5 and PLT > 20 and ARC - baseline ARC > 30
(D10); NR transfusion dependence or death; otherwise NR by fallback (D14).
NIH: CR ANC > 1.0, Hb > 100, PLT > 100; PR no longer SAA.
BSH 2016: CR Hb normal for age, ANC > 1.5, PLT > 150; PR TI and no longer SAA.
"""

from __future__ import annotations

import pandas as pd
import pytest

from saatrial.rules.response import (
    ResponseAssessment,
    ResponseCategory,
    assess_response,
    assess_visit,
    best_response_by,
    load_criteria_set,
    options_from_decisions,
)
from saatrial.rules.types import RuleTableError

CR, PR, NR, NE = (
    ResponseCategory.CR,
    ResponseCategory.PR,
    ResponseCategory.NR,
    ResponseCategory.NE,
)

# A girl of 6 years (born 1 May 2008, assessed 1 May 2014): WHO 5-11 y -> Hb >= 115 normal
AGE = {"sex": "F", "birth_date": "2008-05-01", "on_date": "2014-05-01"}
BASE_ARC = {"arc_1e9_per_l": 5.0}
CR_VALUES = {
    "anc_1e9_per_l": 2.0,
    "plt_1e9_per_l": 150,
    "hgb_g_per_l": 120,
    "arc_1e9_per_l": 60,
    "transfusion_independent": True,
}
PR_VALUES = {
    "anc_1e9_per_l": 0.8,
    "plt_1e9_per_l": 40,
    "hgb_g_per_l": 90,
    "arc_1e9_per_l": 60,
    "transfusion_independent": True,
}


def cat(values, baseline=BASE_ARC, criteria_set="cn-peds-2014", **kw):
    return assess_response(values, baseline, criteria_set, **{**AGE, **kw}).category


# ---------------------------------------------------------------- cn-peds-2014 CR
@pytest.mark.parametrize(("anc", "expected"), [(1.49, PR), (1.5, PR), (1.51, CR)])
def test_cr_anc_1_5(anc, expected):
    assert cat({**CR_VALUES, "anc_1e9_per_l": anc}) is expected


@pytest.mark.parametrize(("plt", "expected"), [(99.9, PR), (100, PR), (100.1, CR)])
def test_cr_plt_100(plt, expected):
    assert cat({**CR_VALUES, "plt_1e9_per_l": plt}) is expected


@pytest.mark.parametrize(("hgb", "expected"), [(114, PR), (115, CR), (116, CR)])
def test_cr_hgb_normal_for_age(hgb, expected):
    assert cat({**CR_VALUES, "hgb_g_per_l": hgb}) is expected


def test_cr_hgb_uses_age_and_sex():
    # the same Hb 125 is normal for a 15-year-old girl (>= 120) but not a boy (>= 130)
    older = {"birth_date": "1999-05-01", "on_date": "2014-05-01"}
    assert cat({**CR_VALUES, "hgb_g_per_l": 125}, **older, sex="F") is CR
    assert cat({**CR_VALUES, "hgb_g_per_l": 125}, **older, sex="M") is PR


def test_cr_requires_transfusion_independence_d12():
    r = assess_response({**CR_VALUES, "transfusion_independent": False}, BASE_ARC, **AGE)
    assert r.category is NR
    assert r.decided_by == "NR: transfusion dependence persists"
    assert not r.by_fallback
    # the D12 option switches the requirement off (TI still needed for PR)
    assert (
        cat(
            {**CR_VALUES, "transfusion_independent": False},
            options={"cr_transfusion_independence": "not_required"},
        )
        is CR
    )


# ---------------------------------------------------------------- cn-peds-2014 PR
@pytest.mark.parametrize(("anc", "expected"), [(0.49, NR), (0.5, NR), (0.51, PR)])
def test_pr_anc_0_5(anc, expected):
    assert cat({**PR_VALUES, "anc_1e9_per_l": anc}) is expected


@pytest.mark.parametrize(("plt", "expected"), [(19.9, NR), (20, NR), (20.1, PR)])
def test_pr_plt_20(plt, expected):
    assert cat({**PR_VALUES, "plt_1e9_per_l": plt}) is expected


# D10: ARC - baseline ARC > 30; decimals that are not exact in binary (5.4, 35.4)
@pytest.mark.parametrize(("arc", "expected"), [(35.3, NR), (35.4, NR), (35.5, PR)])
def test_pr_arc_rise_30_d10(arc, expected):
    r = assess_response({**PR_VALUES, "arc_1e9_per_l": arc}, {"arc_1e9_per_l": 5.4}, **AGE)
    assert r.category is expected
    assert r.values["baseline_arc_1e9_per_l"] == 5.4


def test_pr_arc_option_above_threshold_and_baseline():
    # baseline 40, ARC 45: rise 5 (literal D10 -> NR), but 45 > 30 and 45 > 40 (option -> PR)
    v = {**PR_VALUES, "arc_1e9_per_l": 45}
    assert cat(v, {"arc_1e9_per_l": 40}) is NR
    opt = {"arc_rule": "above_threshold_and_baseline"}
    assert cat(v, {"arc_1e9_per_l": 40}, options=opt) is PR
    # option boundaries: ARC 30 is not > 30; ARC equal to the baseline is not above it
    assert cat({**v, "arc_1e9_per_l": 30}, {"arc_1e9_per_l": 2}, options=opt) is NR
    assert cat({**v, "arc_1e9_per_l": 45}, {"arc_1e9_per_l": 45}, options=opt) is NR


def test_pr_requires_transfusion_independence():
    r = assess_response({**PR_VALUES, "transfusion_independent": False}, BASE_ARC, **AGE)
    assert r.category is NR and not r.by_fallback


# ---------------------------------------------------------------- NR, fallback, NE
def test_nr_by_fallback_d14():
    r = assess_response({**PR_VALUES, "anc_1e9_per_l": 0.3}, BASE_ARC, **AGE)
    assert r.category is NR
    assert r.by_fallback
    assert "D14" in r.decided_by
    assert any(
        reason.startswith("PR: ") and "anc_1e9_per_l > 0.5" in reason for reason in r.reasons
    )


def test_death_is_nr():
    r = assess_response(CR_VALUES, BASE_ARC, died=True, **AGE)
    assert r.category is NR and r.decided_by == "NR: death"


def test_missing_value_that_matters_gives_ne():
    # CR cannot be judged without Hb, PR holds: the response is not evaluable
    r = assess_response({**CR_VALUES, "hgb_g_per_l": None}, BASE_ARC, **AGE)
    assert r.category is NE
    assert "hgb_normal_for_age" in r.missing


def test_missing_value_that_does_not_matter():
    # transfusion dependent: NR whatever the missing Hb would have been
    r = assess_response(
        {**CR_VALUES, "hgb_g_per_l": None, "transfusion_independent": False}, BASE_ARC, **AGE
    )
    assert r.category is NR
    # no baseline ARC, but ANC 0.3 already rules PR out -> NR by fallback
    assert cat({**PR_VALUES, "anc_1e9_per_l": 0.3}, baseline=None) is NR
    assert cat(PR_VALUES, baseline=None) is NE


def test_unknown_value_key_rejected():
    with pytest.raises(ValueError, match="unknown key"):
        assess_response({"anc": 1.0}, BASE_ARC, **AGE)
    with pytest.raises(ValueError, match="option 'arc'"):
        assess_response(PR_VALUES, BASE_ARC, options={"arc": "x"}, **AGE)


# ---------------------------------------------------------------- NIH
NIH_CR = {
    "anc_1e9_per_l": 1.2,
    "plt_1e9_per_l": 120,
    "hgb_g_per_l": 110,
    "arc_1e9_per_l": 60,
    "transfusion_independent": True,
}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("anc_1e9_per_l", 1.0, PR),
        ("anc_1e9_per_l", 1.01, CR),
        ("hgb_g_per_l", 100, PR),
        ("hgb_g_per_l", 101, CR),
        ("plt_1e9_per_l", 100, PR),
        ("plt_1e9_per_l", 101, CR),
    ],
)
def test_nih_cr_boundaries(key, value, expected):
    assert cat({**NIH_CR, key: value}, criteria_set="nih") is expected


def test_nih_pr_no_longer_saa():
    # ANC 0.6, PLT 15, ARC 25: only PLT < 20 -> no longer SAA -> PR (TI not required)
    v = {
        "anc_1e9_per_l": 0.6,
        "plt_1e9_per_l": 15,
        "hgb_g_per_l": 80,
        "arc_1e9_per_l": 25,
        "transfusion_independent": False,
        "plt_pre_transfusion": True,
        "arc_pre_transfusion": True,
    }
    assert cat(v, criteria_set="nih") is PR
    # ANC 0.4 and PLT 15: two SAA criteria -> still SAA -> NR
    r = assess_response({**v, "anc_1e9_per_l": 0.4}, BASE_ARC, "nih", **AGE)
    assert r.category is NR and r.decided_by == "NR: blood counts still meet SAA criteria"
    # PLT post-transfusion with ANC 0.4: SAA status undecidable -> NE
    assert cat({**v, "anc_1e9_per_l": 0.4, "plt_pre_transfusion": False}, criteria_set="nih") is NE


# ---------------------------------------------------------------- BSH 2016
BSH_CR = {
    "anc_1e9_per_l": 1.6,
    "plt_1e9_per_l": 160,
    "hgb_g_per_l": 120,
    "arc_1e9_per_l": 60,
    "transfusion_independent": True,
}


@pytest.mark.parametrize(("plt", "expected"), [(149, PR), (150, PR), (150.1, CR)])
def test_bsh_cr_plt_150(plt, expected):
    assert cat({**BSH_CR, "plt_1e9_per_l": plt}, criteria_set="bsh-2016") is expected


@pytest.mark.parametrize(("anc", "expected"), [(1.5, PR), (1.51, CR)])
def test_bsh_cr_anc_1_5(anc, expected):
    assert cat({**BSH_CR, "anc_1e9_per_l": anc}, criteria_set="bsh-2016") is expected


def test_bsh_cr_hb_normal_for_age():
    assert cat({**BSH_CR, "hgb_g_per_l": 114}, criteria_set="bsh-2016") is PR
    assert cat({**BSH_CR, "hgb_g_per_l": 115}, criteria_set="bsh-2016") is CR


def test_bsh_pr_needs_ti_and_no_longer_saa():
    v = {
        "anc_1e9_per_l": 0.6,
        "plt_1e9_per_l": 30,
        "hgb_g_per_l": 90,
        "arc_1e9_per_l": 25,
        "transfusion_independent": True,
    }
    assert cat(v, criteria_set="bsh-2016") is PR
    r = assess_response(
        {
            **v,
            "transfusion_independent": False,
            "plt_pre_transfusion": True,
            "arc_pre_transfusion": True,
        },
        BASE_ARC,
        "bsh-2016",
        **AGE,
    )
    assert r.category is NR and r.by_fallback
    assert (
        cat({**v, "anc_1e9_per_l": 0.4, "arc_1e9_per_l": 10}, criteria_set="bsh-2016") is NR
    )  # still severe


def test_criteria_sets_are_versioned_with_source():
    for name in ("cn-peds-2014", "nih", "bsh-2016"):
        cs = load_criteria_set(name)
        assert cs.version and cs.source and cs.id == name
    assert load_criteria_set("nih").assessment_visit == "D180"


def test_options_follow_protocol_decisions():
    from saatrial.protocol.model import load_protocol

    decisions = load_protocol("nct02218437").decisions
    assert options_from_decisions(decisions) == {
        "arc_rule": "above_baseline_by",
        "cr_transfusion_independence": "required",
    }
    v = {**PR_VALUES, "arc_1e9_per_l": 45}
    alt = options_from_decisions({**decisions, "D10_arc_rule": "above_threshold_and_baseline"})
    assert cat(v, {"arc_1e9_per_l": 40}, options=alt) is PR


def test_bad_criteria_set_rejected(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(
        "id: bad\nversion: '1'\nsource: x\nrules:\n"
        "  - {category: CR, all: [{var: anc, op: '>', value: 1}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleTableError, match="var: one of"):
        load_criteria_set(str(p))


# ---------------------------------------------------------------- visits (D9)
DAY1 = "2014-01-01"  # study day 90 = 31 Mar 2014; D90 window days 76..104 = 17 Mar..14 Apr


def labs_frame(rows):
    return pd.DataFrame(rows, columns=["subject_id", "lab_date", "test", "value"])


def panel(date, anc, plt, hgb, arc):
    return [
        ("S1", date, "ANC", anc),
        ("S1", date, "PLT", plt),
        ("S1", date, "HGB", hgb),
        ("S1", date, "ARC", arc),
    ]


BASELINE_ROWS = [("S1", "2013-12-31", "ARC", 5.0)]
NO_TX = pd.DataFrame(columns=["subject_id", "transfusion_date", "product"])


def visit(labs, tx=NO_TX, **kw):
    return assess_visit(
        "S1", ("D90", 90, 14), DAY1, labs_frame(labs), tx, sex="F", birth_date="2008-05-01", **kw
    )


def test_visit_nearest_to_target_inside_window():
    rows = BASELINE_ROWS + panel("2014-03-17", 0.9, 40, 90, 60)  # day 76: window edge
    r = visit(rows)
    assert r.category is PR and r.study_day == 76
    rows = BASELINE_ROWS + panel("2014-03-16", 0.9, 40, 90, 60)  # day 75: outside
    r = visit(rows)
    assert r.category is NE and "no blood counts in window" in r.decided_by
    rows = BASELINE_ROWS + panel("2014-04-14", 0.9, 40, 90, 60)  # day 104: edge
    assert visit(rows).study_day == 104
    rows = BASELINE_ROWS + panel("2014-04-15", 0.9, 40, 90, 60)  # day 105: outside
    assert visit(rows).category is NE


def test_visit_tie_goes_to_earlier_sample():
    # day 88 (29 Mar) and day 92 (2 Apr) are both 2 days from day 90
    rows = (
        BASELINE_ROWS + panel("2014-03-29", 0.3, 40, 90, 60) + panel("2014-04-02", 0.9, 40, 90, 60)
    )
    r = visit(rows)
    assert r.values["anc_1e9_per_l"] == 0.3
    assert r.category is NR and r.study_day == 88
    # a closer sample wins: day 91 beats day 88
    rows = rows + panel("2014-04-01", 0.95, 45, 90, 60)
    assert visit(rows).values["anc_1e9_per_l"] == 0.95


def test_visit_ti_judged_at_sample_date_and_baseline_from_labs():
    rows = BASELINE_ROWS + panel("2014-03-31", 0.9, 40, 90, 60)
    tx = pd.DataFrame(
        {"subject_id": ["S1"], "transfusion_date": ["2014-03-03"], "product": ["RBC"]}
    )  # exactly 28 days before 31 Mar
    r = visit(rows, tx)
    assert r.category is NR and r.values["transfusion_independent"] is False
    tx.loc[0, "transfusion_date"] = "2014-03-02"  # 29 days before
    r = visit(rows, tx)
    assert r.category is PR and r.values["arc_increase_1e9_per_l"] == 55.0


def test_visit_death_before_visit_is_nr():
    rows = BASELINE_ROWS + panel("2014-03-31", 0.9, 40, 90, 60)
    r = visit(rows, death_date="2014-03-20")
    assert r.category is NR and r.decided_by == "NR: death" and r.visit == "D90"
    # death after the target day: the visit counts are still used
    assert visit(rows, death_date="2014-04-05").category is PR


def test_best_response_by():
    def a(cat_, day):
        return ResponseAssessment(cat_, str(cat_), {}, "cn-peds-2014", "1.0.0", study_day=day)

    history = [a(NR, 40), a(PR, 90), a(PR, 180), a(NE, 200)]
    assert best_response_by(history, 39) is None
    assert best_response_by(history, 40).category is NR
    best = best_response_by(history, 365)
    assert best.category is PR and best.study_day == 90  # first time reached
    assert best_response_by([a(NE, 40)], 90).category is NE
    assert best_response_by([*history, a(CR, 300)], 365).category is CR
