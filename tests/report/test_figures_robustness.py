"""build_figures on incomplete studies: every figure is drawn, gaps become notices.

Issue 5: a study with missing visits, an arm with no events, or a single arm
still gives a report that says what it could not show. Each case is the
bundled study with rows removed (as in tests/derive/test_robustness.py),
derived again, then drawn.
"""

from __future__ import annotations

import pandas as pd

from saatrial.derive import derive_all
from saatrial.report.figures import FIGURE_KEYS, build_figures_detailed
from saatrial.study import StudyData

from ._figure_checks import bundled, check_png, check_svg


def variant(base: StudyData, /, **frames: pd.DataFrame) -> StudyData:
    tables = {name: df.copy() for name, df in base.tables.items()}
    tables.update(frames)
    return StudyData(tables, base.dictionary, "variant")


def only_subjects(study: StudyData, keep) -> StudyData:
    return variant(
        study,
        **{
            name: df[df["subject_id"].isin(keep)]
            for name, df in study.tables.items()
            if "subject_id" in df
        },
    )


def draw(study: StudyData, **kwargs):
    """Derive and draw; every figure must be drawn. Returns (built figures, their notices)."""
    detailed = build_figures_detailed(derive_all(study), study=study, **kwargs)
    failed = {k: v for k, v in detailed.items() if not hasattr(v, "figure")}
    assert failed == {}, failed
    assert list(detailed) == list(FIGURE_KEYS)
    for built in detailed.values():
        check_png(built.figure.png, min_width=500, min_height=200)
        check_svg(built.figure.svg)
    return detailed, [n for built in detailed.values() for n in built.notices]


def test_single_arm():
    study, _ads = bundled()
    msc = only_subjects(study, [s for s in study.subject_ids if s.startswith("MSC")])
    detailed, notices = draw(msc, logrank_p={"FFS": None, "OS": None})
    where = {(n.where, n.message) for n in notices}
    assert (
        "figure3_ffs",
        "Failure-free survival: one arm only; no between-arm comparison shown",
    ) in where
    assert (
        "figure3_os",
        "Overall survival: one arm only; no between-arm comparison shown",
    ) in where
    assert [a.arm for a in detailed["figure3_ffs"].facts.arms] == ["MSC"]
    assert {lane.arm for lane in detailed["swimmer"].facts.lanes} == {"MSC"}
    assert [a.arm for a in detailed["consort"].facts.arms] == ["MSC"]


def test_arm_without_events():
    study, _ads = bundled()
    ev = study["outcome_events"]
    control_events = ev["subject_id"].str.startswith("CTL") & ev["event_type"].isin(
        ["DEATH", "HSCT"]
    )
    detailed, notices = draw(
        variant(study, outcome_events=ev[~control_events]), logrank_p={"FFS": 0.01}
    )
    ctl = next(a for a in detailed["figure3_ffs"].facts.arms if a.arm == "CONTROL")
    assert ctl.events == 0 and ctl.landmark_text() == "100.0 ± 0.0%"
    consort_ctl = next(a for a in detailed["consort"].facts.arms if a.arm == "CONTROL")
    assert (consort_ctl.died, consort_ctl.hsct) == (0, 0)
    assert not [n for n in notices if n.where.startswith("figure3")]


def test_missing_visits():
    """No labs in the day-90 window: Figure 1 says so for every count and arm."""
    study, _ads = bundled()
    labs = study["labs"]
    day1 = study["exposures"].query("drug == 'RATG'").groupby("subject_id")["start_date"].min()
    study_day = (labs["lab_date"] - labs["subject_id"].map(day1)).dt.days + 1
    detailed, notices = draw(variant(study, labs=labs[(study_day < 76) | (study_day > 104)]))
    fig1 = [n.message for n in notices if n.where == "figure1_blood_counts"]
    assert len(fig1) == 8  # 4 counts x 2 arms
    assert (
        "Platelets: day 90 value missing for 9 of 9 subjects in UC-MSC + IST; "
        "mean ± SE of the others shown"
    ) in fig1
    plt = next(p for p in detailed["figure1_blood_counts"].facts.panels if p.paramcd == "PLT")
    assert all(arm.visits[2].n == 0 for arm in plt.arms)
    # the swimmer shows the day-90 assessments as not evaluable, not as missing lanes
    categories = {
        m.category
        for lane in detailed["swimmer"].facts.lanes
        for m in lane.responses
        if m.visit == "D90"
    }
    assert categories <= {"NE"}


def test_empty_study():
    empty = StudyData.empty()
    detailed, notices = draw(empty)
    assert detailed["figure3_os"].facts.arms == ()
    assert detailed["swimmer"].facts.lanes == ()
    assert detailed["consort"].facts.allocated == 0
    messages = {n.message for n in notices}
    assert "Overall survival: no ADTTE records; no curve drawn" in messages
    assert "no patient with a time origin; swimmer plot empty" in messages
    assert "no subject allocated to an arm; flow diagram has no arms" in messages
