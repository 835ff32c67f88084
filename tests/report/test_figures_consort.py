"""CONSORT flow diagram: every box count comes from the data.

Bundled-study counts are the paper's (18 enrolled, 9 per arm, all nine MSC
patients completed three infusions, one death per arm, HSCT as salvage in 4
MSC and 2 control patients, the MSC patient lost at 6 months - TRIAL.md 5);
the variants change one record and check the one count it moves.
"""

from __future__ import annotations

import pandas as pd
import pytest

from saatrial.report.figures.consort import consort_facts, consort_figure, draw_consort

from ._figure_checks import bundled, check_png, check_svg, drawn_texts, text_problems


@pytest.fixture(scope="module")
def facts():
    study, ads = bundled()
    return consort_facts(ads.adsl, ads.adtte, ads.adrs, study["screening"])


def flow(facts, arm):
    return next(a for a in facts.arms if a.arm == arm)


def test_bundled_counts_are_the_papers(facts):
    assert (facts.assessed, facts.excluded, facts.allocated) == (18, 0, 18)
    assert (facts.ineligible_allocated, facts.eligibility_unknown) == (0, 0)
    msc, ctl = flow(facts, "MSC"), flow(facts, "CONTROL")
    assert (msc.allocated, msc.received, msc.not_received) == (9, 9, ())
    assert (msc.msc_planned, msc.msc_all_doses) == (3, 9)
    assert (msc.lost, msc.died, msc.hsct, msc.followed_at_cutoff) == (1, 1, 4, 7)
    assert (ctl.allocated, ctl.received, ctl.msc_planned) == (9, 9, 0)
    assert (ctl.lost, ctl.died, ctl.hsct, ctl.followed_at_cutoff) == (0, 1, 2, 8)
    for arm in (msc, ctl):
        assert (arm.analysed_survival, arm.analysed_response, arm.excluded_from_analysis) == (
            9,
            9,
            0,
        )


def test_the_diagram_prints_those_counts(facts):
    fig = draw_consort(facts)
    texts = drawn_texts(fig)
    for expected in (
        "Assessed for eligibility (n = 18)",
        "Excluded before allocation (n = 0)",
        "Allocated (n = 18)",
        "Allocated to UC-MSC + IST (n = 9)",
        "Allocated to IST alone (n = 9)",
        "• Received all 3 UC-MSC doses (n = 9)",
        "• Salvage HSCT (treatment failure) (n = 4)",
        "• Salvage HSCT (treatment failure) (n = 2)",
        "• Lost to follow-up (n = 1)",
        "• Lost to follow-up (n = 0)",
        "• Alive and followed at data cut-off (n = 7)",
        "• Response at day 90: n = 9",
    ):
        assert expected in texts, expected
    assert texts.count("• Died (n = 1)") == 2
    assert texts.count("Analysed (n = 9)") == 2
    for stage in ("Enrolment", "Allocation", "Follow-up", "Analysis"):
        assert stage in texts
    assert text_problems(fig) == []


def test_text_stays_inside_its_box(facts):
    """Every line of a box is drawn inside that box's patch (no overflow)."""
    from matplotlib.patches import FancyBboxPatch

    fig = draw_consort(facts)
    drawn_texts(fig)  # draws the figure
    renderer = fig.canvas.get_renderer()
    boxes = [
        p.get_window_extent(renderer)
        for p in fig.axes[0].patches
        if isinstance(p, FancyBboxPatch) and p.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    ]
    for text in fig.axes[0].texts:
        if text.get_rotation() != 0:
            continue  # stage labels sit in their own coloured bars
        extent = text.get_window_extent(renderer)
        assert any(
            b.x0 <= extent.x0 and extent.x1 <= b.x1 and b.y0 <= extent.y0 and extent.y1 <= b.y1
            for b in boxes
        ), text.get_text()


def test_built_figure(facts):
    study, ads = bundled()
    built = consort_figure(ads.adsl, ads.adtte, ads.adrs, study["screening"])
    assert built.facts == facts and built.notices == ()
    assert built.figure.key == "consort"
    check_png(built.figure.png)
    check_svg(built.figure.svg)


def test_subject_without_study_drug_did_not_receive_the_intervention():
    study, ads = bundled()
    adsl = ads.adsl.copy()
    adsl.loc[adsl["SUBJID"] == "MSC04", "TRT01A"] = pd.NA
    adsl.loc[adsl["SUBJID"] == "MSC05", "TRT01A"] = "IST alone"  # no UC-MSC given
    adsl.loc[adsl["SUBJID"] == "MSC05", "MSCDOSN"] = 0
    built = consort_figure(adsl, ads.adtte, ads.adrs, study["screening"])
    msc = flow(built.facts, "MSC")
    assert msc.received == 7
    assert msc.not_received == (("no study drug given", 1), ("received IST alone instead", 1))
    assert msc.msc_all_doses == 8
    texts = drawn_texts(draw_consort(built.facts))
    assert "• Did not receive allocated intervention (n = 2)" in texts
    assert "• no study drug given (n = 1)" in texts
    assert "• Received all 3 UC-MSC doses (n = 8)" in texts


def test_screened_but_not_allocated_is_excluded():
    study, ads = bundled()
    screening = pd.concat(
        [study["screening"], study["screening"].iloc[[0]].assign(subject_id="SCR99")],
        ignore_index=True,
    )
    facts = consort_facts(ads.adsl, ads.adtte, ads.adrs, screening)
    assert (facts.assessed, facts.excluded, facts.allocated) == (19, 1, 18)


def test_ineligible_and_unjudged_allocations_are_shown_and_noticed():
    study, ads = bundled()
    adsl = ads.adsl.copy()
    adsl.loc[adsl["SUBJID"] == "CTL01", "ELIGFL"] = "N"
    adsl.loc[adsl["SUBJID"] == "CTL02", "ELIGFL"] = pd.NA
    built = consort_figure(adsl, ads.adtte, ads.adrs, study["screening"])
    assert (built.facts.ineligible_allocated, built.facts.eligibility_unknown) == (1, 1)
    # box lines are wrapped: read them as one text
    prose = " ".join(t.strip() for t in drawn_texts(draw_consort(built.facts)))
    assert "• Allocated although not eligible by the protocol rules (n = 1)" in prose
    assert "• Allocated; eligibility could not be judged (n = 1)" in prose
    assert [n.message for n in built.notices] == [
        "1 allocated subject(s) do not meet the protocol's eligibility rules "
        "(ADSL ELIGFAIL lists why)",
        "1 allocated subject(s) could not be judged for eligibility (missing screening "
        "data or no first rATG dose)",
    ]


def test_without_screening_table_counts_enrolled_and_says_so():
    _study, ads = bundled()
    built = consort_figure(ads.adsl, ads.adtte, ads.adrs)
    assert built.facts.assessed == 18 and built.facts.assessed_source == "adsl"
    assert [n.message for n in built.notices] == [
        "screening table not supplied: 'assessed for eligibility' counts the enrolled subjects only"
    ]


def test_subject_without_survival_record_is_excluded_from_analysis():
    study, ads = bundled()
    adtte = ads.adtte[ads.adtte["SUBJID"] != "CTL05"]
    facts = consort_facts(ads.adsl, adtte, ads.adrs, study["screening"])
    ctl = flow(facts, "CONTROL")
    assert (ctl.analysed_survival, ctl.excluded_from_analysis) == (8, 1)
    texts = drawn_texts(draw_consort(facts))
    assert "Analysed (n = 8)" in texts
    assert "• Excluded from analysis (n = 1) - no first rATG dose" in texts


def test_single_arm_and_three_arms_draw_tidily():
    study, ads = bundled()
    one = ads.adsl[ads.adsl["ARMCD"] == "MSC"]
    facts = consort_facts(one, ads.adtte, ads.adrs, study["screening"])
    assert [a.arm for a in facts.arms] == ["MSC"] and facts.excluded == 9
    assert text_problems(draw_consort(facts)) == []
    three = ads.adsl.copy()
    three.loc[three["SUBJID"].isin(["CTL01", "CTL02", "CTL03"]), ["ARMCD", "ARM"]] = [
        "LOW",
        "Low-dose UC-MSC + IST",
    ]
    facts = consort_facts(three, ads.adtte, ads.adrs, study["screening"])
    assert [(a.arm, a.allocated) for a in facts.arms] == [("LOW", 3), ("MSC", 9), ("CONTROL", 6)]
    assert text_problems(draw_consort(facts)) == []
