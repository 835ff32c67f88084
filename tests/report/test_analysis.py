"""The report analysis: numbers checked against hand-worked values and independent code.

Independent references used here: hand-worked Kaplan-Meier/Greenwood values
from the event order of TRIAL.md 5, lifelines' log-rank test, a classical
split-plot ANOVA written below from the textbook sums of squares (Howell,
ch. 14), scipy's Fisher test, and the published numbers. Robustness: the
incomplete studies of issue 5 give notices and ``None``, never an exception.
"""

from __future__ import annotations

import doctest
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from saatrial.report import (
    analysis,
    analysis_baseline,
    analysis_common,
    analysis_safety,
    analysis_survival,
)
from saatrial.report.analysis import ANOVA_SPECS, analyze, load_ae_groups
from saatrial.report.analysis_safety import in_group

from ._r1_support import (
    MISSING_D40,
    bundled,
    control_without_events,
    protocol,
    published,
    short_msc_follow_up,
    single_arm,
    two_missing_day40,
    without_day90_labs,
)

DAYS_PER_MONTH = 30.4375  # TRIAL.md 5


def lookup(results: dict, dotted: str):
    node = results
    for part in dotted.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, (*path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaves(v, (*path, str(i)))
    else:
        yield ".".join(path), node


def split_plot_interaction_p(frame: pd.DataFrame) -> float:
    """Arm x time p of the classical split-plot ANOVA (Howell ch. 14), complete cases.

    ``frame``: columns subject, arm, visit, value; one row per subject x visit.
    Written from the textbook partition of the sums of squares, independently
    of saatrial.stats.anova (which uses the multivariate formulation).
    """
    wide = frame.pivot(index="subject", columns="visit", values="value").dropna()
    arm = frame.drop_duplicates("subject").set_index("subject")["arm"].reindex(wide.index)
    y = wide.to_numpy(float)
    n_subj, k = y.shape
    grand = y.mean()
    ss_total = ((y - grand) ** 2).sum()
    ss_subjects = k * ((y.mean(axis=1) - grand) ** 2).sum()
    ss_time = n_subj * ((y.mean(axis=0) - grand) ** 2).sum()
    ss_arm = ss_cells = 0.0
    for level in arm.unique():
        block = y[(arm == level).to_numpy()]
        ss_arm += k * len(block) * (block.mean() - grand) ** 2
        ss_cells += len(block) * ((block.mean(axis=0) - grand) ** 2).sum()
    ss_inter = ss_cells - ss_arm - ss_time
    ss_error = ss_total - ss_subjects - ss_time - ss_inter
    a = arm.nunique()
    df_inter, df_error = (a - 1) * (k - 1), (n_subj - a) * (k - 1)
    f = (ss_inter / df_inter) / (ss_error / df_error)
    return float(sps.f.sf(f, df_inter, df_error))


def anova_frame(adlb: pd.DataFrame, paramcd: str, visits: tuple[str, ...]) -> pd.DataFrame:
    rows = adlb[(adlb["ANL01FL"] == "Y").fillna(False) & (adlb["PARAMCD"] == paramcd)
                & adlb["AVISIT"].isin(visits).fillna(False)]
    return pd.DataFrame({"subject": rows["SUBJID"].astype(str), "arm": rows["ARMCD"].astype(str),
                         "visit": rows["AVISIT"].astype(str), "value": rows["AVAL"].astype(float)})


# ---------------------------------------------------------------------------
# results: keys and shape
# ---------------------------------------------------------------------------
def test_every_published_leaf_is_in_results() -> None:
    _, a = bundled()
    doc = {k: v for k, v in published().items() if k != "tolerances"}
    missing = [key for key, _ in leaves(doc) if lookup_or_none(a.results, key) is None]
    assert missing == []


def lookup_or_none(results: dict, dotted: str):
    try:
        return lookup(results, dotted)
    except (KeyError, IndexError, TypeError):
        return None


def test_results_are_plain_json() -> None:
    _, a = bundled()
    json.dumps(a.results, allow_nan=False)  # no NaN, no numpy or pandas types
    for key, value in leaves(a.results):
        assert value is None or type(value) in (str, int, float, bool), (key, type(value))


def test_arms_in_protocol_order_with_labels() -> None:
    _, a = bundled()
    assert a.arms == ("MSC", "CONTROL")
    assert a.arm_labels == {"MSC": "UC-MSC + IST", "CONTROL": "IST alone"}
    assert a.arm_n == {"MSC": 9, "CONTROL": 9}
    assert a.notices == []


def test_methods_used_lists_what_ran() -> None:
    _, a = bundled()
    used = " | ".join(a.methods_used)
    for name in ("Student's t-test", "Mann–Whitney", "Pearson's chi-squared", "Fisher's exact",
                 "Kaplan-Meier", "log-rank (Mantel-Haenszel)", "exact (permutation) log-rank",
                 "repeated-measures (mixed) ANOVA", "linear mixed model"):
        assert name in used


# ---------------------------------------------------------------------------
# Survival: hand-worked values (TRIAL.md 5) and lifelines
# ---------------------------------------------------------------------------
def test_os_at_48_months_is_8_of_9_with_greenwood_se() -> None:
    _, a = bundled()
    se = (8 / 9) * math.sqrt(1 / (9 * 8))
    for arm in ("MSC", "CONTROL"):
        block = a.results["long_term"]["os_4y"][arm]
        assert block["est"] == pytest.approx(8 / 9, abs=1e-12)
        assert block["se"] == pytest.approx(se, abs=1e-12)


def test_ffs_msc_at_48_months_is_8_9_times_3_7() -> None:
    """Death at month 5 (9 at risk), censoring at 6, four failures among 7, 6, 5, 4."""
    _, a = bundled()
    est = 8 / 9 * 6 / 7 * 5 / 6 * 4 / 5 * 3 / 4
    greenwood = 1 / (9 * 8) + 1 / (7 * 6) + 1 / (6 * 5) + 1 / (5 * 4) + 1 / (4 * 3)
    block = a.results["long_term"]["ffs_4y"]["MSC"]
    assert est == pytest.approx(8 / 9 * 3 / 7)
    assert block["est"] == pytest.approx(est, abs=1e-12)
    assert block["se"] == pytest.approx(est * math.sqrt(greenwood), abs=1e-12)
    control = a.results["long_term"]["ffs_4y"]["CONTROL"]
    assert control["est"] == pytest.approx(6 / 9, abs=1e-12)


@pytest.mark.parametrize("paramcd", ["OS", "FFS"])
def test_logrank_equals_lifelines(paramcd: str) -> None:
    from lifelines.statistics import logrank_test as ll_logrank

    ads, a = bundled()
    rows = ads.adtte[ads.adtte["PARAMCD"] == paramcd]
    msc, ctl = rows[rows["ARMCD"] == "MSC"], rows[rows["ARMCD"] == "CONTROL"]
    ref = ll_logrank(msc["AVAL"], ctl["AVAL"], event_observed_A=(msc["CNSR"] == 0),
                     event_observed_B=(ctl["CNSR"] == 0))
    assert a.logrank[paramcd].pvalue == pytest.approx(ref.p_value, abs=1e-12)
    assert a.results["extra"]["logrank_p"][paramcd] == pytest.approx(ref.p_value, abs=1e-12)


def test_follow_up_median_is_1461_days() -> None:
    """PROVENANCE: median of observed times = (1455 + 1467) / 2 days; range 158-1648 days."""
    _, a = bundled()
    lt = a.results["long_term"]
    assert lt["median_follow_up_months"] == pytest.approx(1461 / DAYS_PER_MONTH)
    assert lt["follow_up_range_months"] == pytest.approx([158 / DAYS_PER_MONTH,
                                                          1648 / DAYS_PER_MONTH])
    assert a.followup is not None and a.followup.n == 18


def test_deaths_in_month_order_with_cause_and_severity() -> None:
    _, a = bundled()
    deaths = a.results["long_term"]["deaths"]
    assert [(d["arm"], d["subject"], d["severity"]) for d in deaths] == [
        ("MSC", "MSC06", "vSAA"), ("CONTROL", "CTL06", "vSAA")]
    assert deaths[0]["month"] == pytest.approx(158 / DAYS_PER_MONTH)
    assert "serious infection" in deaths[0]["cause"]


def test_hsct_months_and_donors() -> None:
    _, a = bundled()
    lt = a.results["long_term"]
    # MSC05 day 216 ... MSC08 day 308 (PROVENANCE table: 7.10 and 10.12 months)
    assert lt["msc_hsct_months_range"] == pytest.approx([216 / DAYS_PER_MONTH,
                                                         308 / DAYS_PER_MONTH])
    assert lt["treatment_failure_then_hsct"] == {"MSC": 4, "CONTROL": 2}
    assert lt["hsct_donors"] == {"haploidentical": 5, "matched_unrelated": 1}


def test_gvhd_sentence_from_the_recorded_events() -> None:
    _, a = bundled()
    assert a.results["long_term"]["gvhd"] == (
        "one MSC-arm HSCT patient (MSC03): grade 3 gut aGVHD, grade 2 skin and eye aGVHD, "
        "then joint and eye cGVHD")


def test_gvhd_without_the_study_is_a_notice_not_an_error() -> None:
    ads, _ = bundled()
    a = analyze(ads, protocol())  # no study
    assert a.results["long_term"]["gvhd"] is None
    assert "long_term.gvhd" in a.results["extra"]["not_computed"]
    assert any(n.where == "GVHD" for n in a.notices)
    assert a.results["study"]["registry_id"] == "NCT02218437"  # from the protocol
    assert a.results["study"]["follow_up_cutoff"] == "2018-04-13"  # latest date known alive


# ---------------------------------------------------------------------------
# ANOVA: independent split-plot computation and the published values
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ANOVA_SPECS, ids=lambda s: s.key)
def test_anova_interaction_equals_classical_split_plot(spec) -> None:
    ads, a = bundled()
    frame = anova_frame(ads.adlb, spec.paramcd, spec.visits)
    assert a.anova_p[spec.key] == pytest.approx(split_plot_interaction_p(frame), abs=1e-10)
    assert a.anova_p[spec.key] == pytest.approx(
        published()["repeated_measures_anova_p"][spec.key], abs=0.001)


@pytest.mark.parametrize("spec", [s for s in ANOVA_SPECS if len(s.visits) == 2],
                         ids=lambda s: s.key)
def test_two_visit_anova_needs_no_sphericity_correction(spec) -> None:
    _, a = bundled()
    assert a.anova_p_gg[spec.key] == pytest.approx(a.anova_p[spec.key], abs=1e-12)
    assert a.anova_p_hf[spec.key] == pytest.approx(a.anova_p[spec.key], abs=1e-12)


def test_mixed_model_sensitivity_ran_for_every_parameter() -> None:
    _, a = bundled()
    for key, lm in a.mixed_lm.items():
        assert lm is not None and 0 < lm.interaction_p < 1 and lm.n_subjects == 18, key


# ---------------------------------------------------------------------------
# Response and safety
# ---------------------------------------------------------------------------
def test_day90_response_and_fisher_p() -> None:
    _, a = bundled()
    d90 = a.responses["D90"]
    assert d90.counts["MSC"] == {"CR": 0, "PR": 1, "NR": 8, "NE": 0}
    assert d90.counts["CONTROL"] == {"CR": 0, "PR": 2, "NR": 7, "NE": 0}
    assert d90.orr("MSC") == pytest.approx(1 / 9)
    assert d90.fisher_orr is not None
    assert d90.fisher_orr.pvalue == pytest.approx(sps.fisher_exact([[1, 8], [2, 7]]).pvalue)
    assert list(a.responses) == ["D40", "D90", "D180"]


def test_safety_statements() -> None:
    _, a = bundled()
    safety = a.results["safety"]
    assert (safety["msc_anaphylaxis_any"], safety["msc_anaphylaxis_grade_1_2"],
            safety["msc_anaphylaxis_grade_3"], safety["msc_oral_mucositis_grade_2"]) == (4, 3, 1, 1)
    assert safety["severe_infection_grade_ge3"] == {"MSC": 1, "CONTROL": 1}
    assert safety["ctcae_version"] == "4.03"


def test_every_patient_counted_once_per_term_at_worst_grade() -> None:
    ads, a = bundled()
    rows = {c.term: c for c in a.adverse_events}
    anaph = rows["Anaphylactic reaction (Allergic reaction or Anaphylaxis, D17)"]
    assert anaph.counts["MSC"] == {"1-2": 3, "3-4": 1, "5": 0, "any": 4}
    any_event = rows["Any adverse event"]
    assert any_event.counts["MSC"]["any"] == ads.adae.loc[ads.adae["ARMCD"] == "MSC",
                                                          "SUBJID"].nunique()
    assert any_event.counts["MSC"]["5"] == 1  # the sepsis death


def test_ae_groups_table_is_versioned_data() -> None:
    groups = load_ae_groups()
    assert groups["version"] and "D17" in groups["source"]
    infection, reaction = groups["groups"]["infection"], groups["groups"]["anaphylactic_reaction"]
    # hand cases from the CTCAE SOC "Infections and infestations" and D17
    assert in_group("Sepsis", infection) and in_group("Lung infection", infection)
    assert in_group("Skin infection", infection)
    assert not in_group("Febrile neutropenia", infection)  # SOC Blood and lymphatic system
    assert in_group("Allergic reaction", reaction) and in_group("anaphylaxis", reaction)
    assert not in_group("Serum sickness", reaction)


def test_baseline_balance_statement() -> None:
    _, a = bundled()
    note = a.results["baseline_control"]["note"]
    assert note.startswith("well matched") and "smallest p = 0.289" in note


# ---------------------------------------------------------------------------
# Robustness: studies the report must still handle (issue 5)
# ---------------------------------------------------------------------------
def test_single_arm_study() -> None:
    _, a = single_arm()
    assert a.arms == ("MSC",)
    assert a.logrank == {} and a.exact_logrank == {}
    assert set(a.anova_p.values()) == {None}
    assert a.results["long_term"]["ffs_logrank_p"] is None
    reasons = a.results["extra"]["not_computed"]
    assert "needs 2 arms" in reasons["long_term.ffs_logrank_p"]
    assert "needs 2 arms" in reasons["repeated_measures_anova_p.PLT"]
    assert all(r.student_t is None for r in a.baseline if hasattr(r, "student_t"))
    wheres = {n.where for n in a.notices}
    assert {"Populations", "Log-rank FFS", "Response D90", "Table 1 (Sex)"} <= wheres
    # what can be computed still is
    assert a.results["long_term"]["ffs_4y"]["MSC"]["est"] == pytest.approx(8 / 9 * 3 / 7)
    assert "baseline_control" not in a.results


def test_arm_without_events() -> None:
    ads, a = control_without_events()
    ctl = a.survival[("FFS", "CONTROL")]
    assert ctl.n_events == 0 and ctl.landmarks[48.0].estimate == 1.0
    assert math.isnan(ctl.median)
    assert any(n.where == "Kaplan-Meier FFS (CONTROL)" and "no events" in n.message
               for n in a.notices)
    from lifelines.statistics import logrank_test as ll_logrank

    rows = ads.adtte[ads.adtte["PARAMCD"] == "FFS"]
    msc, ctl_rows = rows[rows["ARMCD"] == "MSC"], rows[rows["ARMCD"] == "CONTROL"]
    ref = ll_logrank(msc["AVAL"], ctl_rows["AVAL"], event_observed_A=(msc["CNSR"] == 0),
                     event_observed_B=(ctl_rows["CNSR"] == 0))
    assert a.results["long_term"]["ffs_logrank_p"] == pytest.approx(ref.p_value, abs=1e-12)


def test_no_events_at_all_gives_a_notice() -> None:
    ads, _ = bundled()
    adtte = ads.adtte.copy()
    adtte["CNSR"] = pd.array([1] * len(adtte), dtype="Int64")  # everyone censored
    from dataclasses import replace

    a = analyze(replace(ads, adtte=adtte), protocol())
    assert a.logrank == {}
    assert "no events" in a.results["extra"]["not_computed"]["long_term.ffs_logrank_p"]


def test_missing_day90_visit() -> None:
    _, a = without_day90_labs()
    assert a.responses["D90"].counts["MSC"]["NE"] == 9
    assert a.results["response_day90"]["CONTROL"]["NE"] == 9
    for key in ("PLT", "ANC", "HGB", "ARC"):
        assert a.anova[key] is None and a.anova_p[key] is None
        assert "fewer than 2 subjects with every visit" in (
            a.results["extra"]["not_computed"][f"repeated_measures_anova_p.{key}"])
    for key in ("CD3CD4_pct", "CD3CD8_pct", "TREG_pct"):  # T cells have no day-90 visit
        assert a.anova_p[key] == pytest.approx(published()["repeated_measures_anova_p"][key],
                                               abs=0.001)
    assert any(n.where == "Response D90" and "not evaluable" in n.message for n in a.notices)


def test_two_patients_missing_day40_are_left_out_of_the_anova_only() -> None:
    ads, a = two_missing_day40()
    res = a.anova["PLT"]
    assert res is not None and res.n_per_group == {"MSC": 8, "CONTROL": 8}
    assert a.anova_dropped["PLT"] == tuple(sorted(MISSING_D40))
    frame = anova_frame(ads.adlb, "PLT", ("BASELINE", "D40", "D90"))
    assert a.anova_p["PLT"] == pytest.approx(split_plot_interaction_p(frame), abs=1e-10)
    lm = a.mixed_lm["PLT"]
    assert lm is not None and lm.n_subjects == 18  # the mixed model keeps them
    assert any("left out for a missing visit" in n.message for n in a.notices)


def test_follow_up_shorter_than_48_months() -> None:
    _, a = short_msc_follow_up()
    assert a.results["long_term"]["ffs_4y"]["MSC"] == {"est": None, "se": None}
    reason = a.results["extra"]["not_computed"]["long_term.ffs_4y.MSC.est"]
    assert "follow-up in the arm ends at" in reason
    s = a.survival[("FFS", "MSC")]
    assert s.landmarks[48.0] is None and s.landmarks[24.0] is not None
    assert a.results["long_term"]["ffs_4y"]["CONTROL"]["est"] == pytest.approx(6 / 9)


def test_subject_without_arm_is_left_out_with_a_notice() -> None:
    ads, _ = bundled()
    adsl = ads.adsl.copy()
    adsl.loc[adsl["SUBJID"] == "MSC01", "ARMCD"] = pd.NA
    from dataclasses import replace

    a = analyze(replace(ads, adsl=adsl), protocol())
    assert a.arm_n == {"MSC": 8, "CONTROL": 9}
    assert any("without an arm" in n.message for n in a.notices)


def test_helpers_and_doctests() -> None:
    assert analysis_common.finite_or_none(np.float64(np.inf)) is None
    for module in (analysis, analysis_common, analysis_baseline, analysis_safety,
                   analysis_survival):
        assert doctest.testmod(module, raise_on_error=False).failed == 0, module.__name__
