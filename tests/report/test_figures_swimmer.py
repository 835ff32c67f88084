"""Swimmer plot: every lane's events where the data put them.

Expected months are worked by hand from the bundled CSV dates (days since the
first rATG dose / 30.4375) and checked against the paper where it states them
(deaths at 5 and 7 months, MSC-arm HSCT between 7 and 10 months, all nine MSC
patients had three doses).
"""

from __future__ import annotations

import pandas as pd
import pytest

from saatrial.report.figures.swimmer import draw_swimmer, swimmer_facts, swimmer_figure

from ._figure_checks import bundled, check_png, check_svg, drawn_texts, text_problems


@pytest.fixture(scope="module")
def facts():
    study, ads = bundled()
    return swimmer_facts(ads.adsl, ads.adtte, ads.adrs, study["exposures"])


def lane(facts, sid):
    return next(x for x in facts.lanes if x.subject_id == sid)


def test_lanes_grouped_by_arm_and_sorted_by_follow_up(facts):
    ids = [x.subject_id for x in facts.lanes]
    assert len(ids) == 18 and facts.left_out == ()
    assert all(i.startswith("MSC") for i in ids[:9]) and all(i.startswith("CTL") for i in ids[9:])
    for arm in ("MSC", "CONTROL"):
        follow_up = [x.follow_up_months for x in facts.lanes_of(arm)]
        assert follow_up == sorted(follow_up, reverse=True)
    # longest first: MSC01 (2013-10-08 -> 2018-04-13 = 1648 days), shortest MSC06 (death)
    assert ids[0] == "MSC01" and ids[8] == "MSC06"
    assert lane(facts, "MSC01").follow_up_months == pytest.approx(1648 / 30.4375)


def test_msc_doses_from_the_exposure_dates(facts):
    # MSC01: rATG 2013-10-08..12; UC-MSC on 10-21, 10-28, 11-04 = days 13, 20, 27
    msc01 = lane(facts, "MSC01")
    assert msc01.msc_dose_months == pytest.approx((13 / 30.4375, 20 / 30.4375, 27 / 30.4375))
    assert msc01.ratg_months == pytest.approx((0.0, 4 / 30.4375))
    for x in facts.lanes_of("MSC"):
        assert len(x.msc_dose_months) == 3  # paper: all nine completed three infusions
    for x in facts.lanes_of("CONTROL"):
        assert x.msc_dose_months == ()


def test_deaths_hsct_loss_and_ongoing(facts):
    # MSC06 died 2014-10-18, 158 days after 2014-05-13: "after 5 months" in the paper
    msc06 = lane(facts, "MSC06")
    assert msc06.death_month == pytest.approx(158 / 30.4375)
    assert int(msc06.death_month) == 5 and not msc06.ongoing
    # CTL06 died 2015-01-04, 222 days after 2014-05-27: "after 7 months"
    assert int(lane(facts, "CTL06").death_month) == 7
    # MSC-arm HSCT between 7 and 10 months (paper)
    hsct = [x.hsct_month for x in facts.lanes_of("MSC") if x.hsct_month is not None]
    assert len(hsct) == 4 and all(7 <= int(m) <= 10 for m in hsct)
    assert len([x for x in facts.lanes_of("CONTROL") if x.hsct_month is not None]) == 2
    # MSC07 lost to follow-up on 2014-12-20, 186 days after 2014-06-17
    msc07 = lane(facts, "MSC07")
    assert msc07.lost_month == pytest.approx(186 / 30.4375) and not msc07.ongoing
    # alive and followed at the cut-off: every lane but the two deaths and the loss
    ongoing = {x.subject_id for x in facts.lanes if x.ongoing}
    assert ongoing == {x.subject_id for x in facts.lanes} - {"MSC06", "CTL06", "MSC07"}


def test_responses_drawn_at_their_assessment_dates(facts):
    # CTL01: D90 PR on 2014-01-19 (89 days after 2013-10-22)
    ctl01 = lane(facts, "CTL01")
    assert [(m.visit, m.category) for m in ctl01.responses] == [
        ("D40", "NR"),
        ("D90", "PR"),
        ("D180", "PR"),
    ]
    assert ctl01.responses[1].month == pytest.approx(89 / 30.4375)
    # MSC06's day-180 "NR by death" is the death marker, not a response marker
    assert [m.visit for m in lane(facts, "MSC06").responses] == ["D40", "D90"]


def test_figure_renders_tidily_with_the_subject_labels(facts):
    fig = draw_swimmer(facts)
    texts = drawn_texts(fig)
    for x in facts.lanes:
        assert texts.count(x.subject_id) == 1
    assert "UC-MSC + IST (n = 9)" in texts and "IST alone (n = 9)" in texts
    assert "UC-MSC dose" in texts and "alive at cut-off" in texts
    assert text_problems(fig) == []


def test_built_figure():
    study, ads = bundled()
    built = swimmer_figure(ads.adsl, ads.adtte, ads.adrs, study["exposures"])
    assert built.figure.key == "swimmer" and built.notices == ()
    check_png(built.figure.png)
    check_svg(built.figure.svg)
    assert "MSC06 (UC-MSC + IST): 5.2 months" in built.figure.alt


def test_without_exposures_the_doses_are_missing_and_said_to_be():
    _study, ads = bundled()
    built = swimmer_figure(ads.adsl, ads.adtte, ads.adrs)
    assert all(x.msc_dose_months == () for x in built.facts.lanes)
    assert [n.message for n in built.notices] == [
        "exposures table not supplied: UC-MSC doses not shown; rATG drawn as days 1-5 (D7)"
    ]
    assert "UC-MSC dose" not in drawn_texts(draw_swimmer(built.facts))


def test_subject_without_time_origin_gets_no_lane():
    study, ads = bundled()
    adsl = ads.adsl.copy()
    adsl.loc[adsl["SUBJID"] == "CTL03", "TRTSDT"] = pd.NaT
    built = swimmer_figure(adsl, ads.adtte, ads.adrs, study["exposures"])
    assert "CTL03" not in {x.subject_id for x in built.facts.lanes}
    assert built.facts.left_out == ("CTL03",)
    assert "no lane for CTL03" in built.notices[0].message


def test_no_patients():
    _study, ads = bundled()
    built = swimmer_figure(ads.adsl.iloc[0:0], ads.adtte.iloc[0:0], ads.adrs.iloc[0:0])
    assert built.facts.lanes == ()
    assert any("swimmer plot empty" in n.message for n in built.notices)
    check_png(built.figure.png, min_height=200)
