"""ADLB derivation rules on hand-made subjects (expected values worked by hand).

Study day 1 = 1 Jan 2014. D9 windows: D40 = study days 33..47, D90 = 76..104,
D180 = 150..210; nearest to the target wins, ties -> the earlier sample.
CTCAE v4.03 neutrophil count decreased: < 0.5 grade 4, < 1.0 grade 3,
< 1.5 grade 2, < LLN grade 1. Creatinine increased: > 1 x baseline or > ULN
grade 1, > 1.5 x baseline or > 1.5 x ULN grade 2, > 3 x grade 3.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from saatrial.derive import derive_all
from saatrial.derive.adlb import flag_visits
from saatrial.protocol import Visit, load_protocol

from ._builder import DAY1, Builder, sd, vals


@pytest.fixture(scope="module")
def adlb() -> pd.DataFrame:
    b = Builder()
    b.subject("S1").subject("S2")
    # ANC: baseline grade 4; D40 tie (days 38 and 42) -> day 38
    b.lab("S1", sd(-1), "ANC", 0.15, lln=1.5, uln=8, pre="Y")
    b.lab("S1", sd(38), "ANC", 0.5, lln=1.5, uln=8)
    b.lab("S1", sd(42), "ANC", 1.0, lln=1.5, uln=8)
    b.lab("S1", sd(90), "ANC", 1.5, lln=1.8, uln=8)
    b.lab("S1", sd(180), "ANC", 1.6)  # no LLN: grade 1 undecidable
    # window edges of D40: day 33 and 47 inside, 32 and 48 outside
    b.lab("S1", sd(33), "PLT", 30)
    b.lab("S1", sd(47), "HGB", 90)
    b.lab("S1", sd(32), "ARC", 20, pre="Y")
    b.lab("S1", sd(48), "ARC", 25)
    b.lab("S1", sd(104), "WBC", 3.0)  # D90 upper edge
    b.lab("S2", sd(105), "WBC", 3.0)  # one day beyond
    b.tx("S1", sd(31), "PLT")  # 2 days before the day-33 PLT sample (D2: 3 days)
    # creatinine graded against the baseline (ULN 50 never reached)
    b.lab("S1", sd(-5), "CREAT", 30, lln=20, uln=50)
    b.lab("S1", sd(40), "CREAT", 40, lln=20, uln=50)
    b.lab("S1", sd(90), "CREAT", 46, lln=20, uln=50)
    b.lab("S1", sd(180), "CREAT", 30, lln=20, uln=50)
    # S2: baseline grade 3, day 40 grade 4 -> treatment-emergent (D18)
    b.lab("S2", sd(-1), "ANC", 0.7, lln=1.5)
    b.lab("S2", sd(40), "ANC", 0.4, lln=1.5)
    # T-cell subsets: baseline and D40 only (days 41 and 43: 41 is nearer)
    b.add(
        "tcell_subsets",
        subject_id="S1",
        sample_date=sd(-1),
        cd3cd4_pct=30,
        cd3cd8_pct=25,
        treg_pct_of_cd4=5,
    )
    b.add(
        "tcell_subsets",
        subject_id="S1",
        sample_date=sd(41),
        cd3cd4_pct=20,
        cd3cd8_pct=35,
        treg_pct_of_cd4=6,
    )
    b.add("tcell_subsets", subject_id="S1", sample_date=sd(43), cd3cd4_pct=22)
    b.add("tcell_subsets", subject_id="S1", sample_date=sd(90), cd3cd4_pct=25)
    return derive_all(b.build()).adlb


def rows(adlb, sid, param):
    return adlb[(adlb["SUBJID"] == sid) & (adlb["PARAMCD"] == param)].set_index("ADY")


def test_study_day_has_no_day_zero(adlb):
    assert rows(adlb, "S1", "ANC").index.tolist() == [-1, 38, 42, 90, 180]
    assert rows(adlb, "S1", "CREAT").index.tolist() == [-5, 40, 90, 180]
    assert (adlb["ADY"] != 0).all()


def test_baseline_and_visits_for_anc(adlb):
    anc = rows(adlb, "S1", "ANC")
    assert vals(anc["AVISIT"]) == ["BASELINE", "D40", None, "D90", "D180"]
    assert vals(anc["AVISITN"]) == [0, 40, None, 90, 180]
    assert vals(anc["ANL01FL"]) == ["Y", "Y", None, "Y", "Y"]
    assert vals(anc["ABLFL"]) == ["Y", None, None, None, None]
    assert (anc["BASE"] == 0.15).all()
    assert pd.isna(anc.loc[-1, "CHG"])
    assert anc.loc[38, "CHG"] == pytest.approx(0.35)
    assert anc.loc[38, "PCHG"] == pytest.approx(100 * 0.35 / 0.15)


@pytest.mark.parametrize(
    ("param", "day", "visit"),
    [
        ("PLT", 33, "D40"),
        ("HGB", 47, "D40"),
        ("ARC", 32, None),
        ("ARC", 48, None),
        ("WBC", 104, "D90"),
    ],
)
def test_window_edges(adlb, param, day, visit):
    got = rows(adlb, "S1", param).loc[day, "AVISIT"]
    assert (pd.isna(got) and visit is None) or got == visit


def test_missing_visit_is_not_an_error(adlb):
    assert rows(adlb, "S2", "WBC")["AVISIT"].isna().all()  # day 105: outside D90
    arc = rows(adlb, "S1", "ARC")
    assert arc["AVISIT"].isna().all() and arc["BASE"].isna().all()  # no baseline ARC
    flagged = adlb[adlb["ANL01FL"] == "Y"]
    assert not flagged.duplicated(["USUBJID", "PARAMCD", "AVISIT"]).any()


def test_ctcae_grades_and_d18(adlb):
    anc = rows(adlb, "S1", "ANC")
    assert anc["ATOXTERM"].unique().tolist() == ["Neutrophil count decreased"]
    assert vals(anc["ATOXGR"]) == [4, 3, 2, 1, None]
    assert "LLN" in anc.loc[180, "ATOXRSN"]  # grade unknown, never 0, without the LLN
    assert (anc["BTOXGR"] == 4).all()
    # D18: nothing is worse than the baseline grade 4; the unknown grade stays unknown
    assert vals(anc["TRTEMFL"]) == ["N", "N", "N", "N", None]
    s2 = rows(adlb, "S2", "ANC")
    assert vals(s2["ATOXGR"]) == [3, 4]
    assert vals(s2["TRTEMFL"]) == ["N", "Y"]
    assert rows(adlb, "S1", "ARC")["ATOXGR"].isna().all()  # ARC has no CTCAE term


def test_creatinine_graded_against_baseline(adlb):
    cr = rows(adlb, "S1", "CREAT")
    # 40 > 1 x 30 -> 1; 46 > 1.5 x 30 = 45 -> 2; 30 not above baseline or ULN -> 0
    assert vals(cr["ATOXGR"]) == [0, 1, 2, 0]
    assert vals(cr["TRTEMFL"]) == ["N", "Y", "Y", "N"]
    assert vals(cr["ANRIND"]) == ["NORMAL"] * 4


def test_pre_transfusion_flags(adlb):
    plt = rows(adlb, "S1", "PLT").loc[33]
    assert pd.isna(plt["PRETRFL"]) and plt["PRETRDFL"] == "N"  # D2: PLT given 2 d before
    arc = rows(adlb, "S1", "ARC")
    assert arc.loc[32, "PRETRFL"] == "Y" and arc.loc[32, "PRETRDFL"] == "Y"
    assert arc.loc[48, "PRETRDFL"] == "Y"  # no RBC transfusion in the 14 days before
    assert rows(adlb, "S1", "ANC")["PRETRDFL"].isna().all()  # D2 concerns PLT and ARC


def test_tcell_parameters(adlb):
    cd4 = rows(adlb, "S1", "CD4PCT")
    assert vals(cd4["AVISIT"]) == ["BASELINE", "D40", None, None]  # no D90 for T cells
    assert cd4.loc[41, "CHG"] == pytest.approx(-10)
    assert cd4["PARCAT1"].unique().tolist() == ["T-CELL SUBSETS"]
    assert cd4["AVALU"].unique().tolist() == ["% of lymphocytes"]
    assert rows(adlb, "S1", "TREGPCT")["AVISIT"].tolist() == ["BASELINE", "D40"]
    assert rows(adlb, "S1", "CD4ABS").empty  # no absolute counts recorded


def test_flag_visits_overlapping_windows_use_one_record_twice():
    visits = [Visit("A", 40, 7, "a"), Visit("B", 45, 7, "b")]
    f = flag_visits([sd(43), sd(30)], DAY1, visits)
    assert f.baseline is None
    assert f.visits == {sd(43): ("A", "B")}


def test_overlapping_visits_give_one_row_per_visit(builder):
    builder.subject("S1").lab("S1", sd(43), "ANC", 0.3)
    proto = load_protocol()
    visits = {"A": Visit("A", 40, 7, "a"), "B": Visit("B", 45, 7, "b")}
    lb = derive_all(builder.build(), replace(proto, visits=visits)).adlb
    assert vals(lb["AVISIT"]) == ["A", "B"]
    assert vals(lb["AVISITN"]) == [40, 45]


def test_flag_visits_without_day1():
    assert flag_visits([date(2014, 1, 1)], None, []).visits == {}
