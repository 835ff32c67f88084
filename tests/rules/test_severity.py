"""Severity (modified Camitta / Bacigalupo), hand-worked from TRIAL.md section 1.

Every threshold is tested at the boundary value, just below and just above it,
with literal numbers taken from the criteria text (not from the YAML table):
ANC < 0.5, PLT < 20, ARC < 20, vSAA ANC < 0.2, cellularity < 25, 25-50 with
residual < 30, strict comparisons (D1), pre-transfusion rule (D2), vSAA needs
SAA (D3).
"""

from __future__ import annotations

import pandas as pd
import pytest

from saatrial.rules.severity import SeverityLevel, assess_severity, severity_at

VSAA, SAA, NSAA = SeverityLevel.VSAA, SeverityLevel.SAA, SeverityLevel.NSAA
NOT_AA, NA_ = SeverityLevel.NOT_AA, SeverityLevel.NOT_ASSESSABLE


def sev(anc, plt, arc, cell=10.0, residual=None, plt_pre=True, arc_pre=True):
    return assess_severity(
        anc, plt, arc, cell, residual, plt_pre_transfusion=plt_pre, arc_pre_transfusion=arc_pre
    )


# ANC < 0.5: PLT 10 meets its criterion, ARC 50 does not -> ANC decides SAA vs NSAA
@pytest.mark.parametrize(
    ("anc", "level"),
    [(0.49, SAA), (0.5, NSAA), (0.51, NSAA)],
)
def test_anc_0_5_boundary(anc, level):
    assert sev(anc, 10, 50).level is level


# ANC < 0.2 for vSAA: SAA already holds through PLT 10 and ARC 5
@pytest.mark.parametrize(
    ("anc", "level"),
    [(0.19, VSAA), (0.2, SAA), (0.21, SAA)],
)
def test_anc_0_2_vsaa_boundary(anc, level):
    assert sev(anc, 10, 5).level is level


# PLT < 20: ANC 0.3 meets its criterion (and is >= 0.2), ARC 50 does not
@pytest.mark.parametrize(
    ("plt", "level"),
    [(19.9, SAA), (20, NSAA), (20.1, NSAA)],
)
def test_plt_20_boundary(plt, level):
    assert sev(0.3, plt, 50).level is level


# ARC < 20: ANC 0.3 meets, PLT 50 does not
@pytest.mark.parametrize(
    ("arc", "level"),
    [(19.9, SAA), (20, NSAA), (20.1, NSAA)],
)
def test_arc_20_boundary(arc, level):
    assert sev(0.3, 50, arc).level is level


# Marrow: cellularity < 25 %, blood criteria all met (ANC 0.3, PLT 5, ARC 5)
@pytest.mark.parametrize(
    ("cell", "residual", "level"),
    [
        (24.9, None, SAA),  # < 25: residual not needed
        (25, None, NA_),  # 25-50 band: residual needed and missing
        (25, 29, SAA),
        (25.1, 29, SAA),
        (50, 29.9, SAA),  # upper end of the 25-50 band is inclusive
        (50, 30, NSAA),
        (50.1, 10, NOT_AA),  # above 50 %: marrow not hypocellular
    ],
)
def test_cellularity_boundaries(cell, residual, level):
    assert sev(0.3, 5, 5, cell, residual).level is level


# Residual haematopoietic cells < 30 % within the 25-50 % band
@pytest.mark.parametrize(
    ("residual", "level"),
    [(29.9, SAA), (30, NSAA), (30.1, NSAA)],
)
def test_residual_30_boundary(residual, level):
    assert sev(0.3, 5, 5, 40, residual).level is level


def test_vsaa_requires_saa_d3():
    # ANC 0.1 is below 0.2 but it is the only blood criterion met: not SAA, so not vSAA
    s = sev(0.1, 50, 50)
    assert s.level is NSAA
    assert not any("vSAA" in c for c in s.criteria_met)
    # ... and the same counts with a normocellular marrow are not aplastic at all
    assert sev(0.1, 5, 5, cell=60).level is NOT_AA


def test_two_of_three_exactly():
    assert sev(0.3, 10, 50).level is SAA  # ANC + PLT
    assert sev(0.3, 50, 10).level is SAA  # ANC + ARC
    assert sev(0.8, 10, 10).level is SAA  # PLT + ARC, ANC 0.8
    assert sev(0.8, 10, 50).level is NSAA  # PLT only


def test_criteria_met_lists_values():
    s = sev(0.07, 10, 5.4)
    assert s.level is VSAA
    assert "ANC 0.07 < 0.5" in s.criteria_met
    assert "PLT 10 < 20" in s.criteria_met
    assert "ARC 5.4 < 20" in s.criteria_met
    assert "ANC 0.07 < 0.2 (vSAA)" in s.criteria_met
    assert s.criteria_met[0].startswith("cellularity 10 %")


# D2: a value that is not pre-transfusion cannot be used
def test_post_transfusion_plt_not_assessable_when_it_matters():
    s = sev(0.3, 10, 50, plt_pre=False)
    assert s.level is NA_
    assert "no pre-transfusion PLT value (D2)" in s.reasons


def test_post_transfusion_plt_irrelevant_when_anc_and_arc_decide():
    assert sev(0.3, 10, 10, plt_pre=False).level is SAA
    assert sev(0.8, 10, 50, plt_pre=False, arc_pre=True).level is NSAA  # at most 1 of 3


def test_post_transfusion_arc_and_unknown_flag():
    assert sev(0.3, 50, 10, arc_pre=None).level is NA_
    assert "no pre-transfusion ARC value (D2)" in sev(0.3, 50, 10, arc_pre=None).reasons


def test_missing_values():
    assert "no marrow cellularity" in sev(0.3, 5, 5, cell=None).reasons
    assert sev(0.3, 5, 5, cell=None).level is NA_
    # SAA through PLT + ARC but ANC missing: vSAA cannot be decided
    s = sev(None, 5, 5)
    assert s.level is NA_
    assert "vSAA undecidable: no ANC value" in s.reasons


def test_bad_values_raise():
    with pytest.raises(ValueError, match="cellularity_pct: range"):
        sev(0.3, 5, 5, cell=120)
    with pytest.raises(ValueError, match="anc_1e9_per_l"):
        sev(-0.1, 5, 5)
    with pytest.raises(ValueError, match="plt_1e9_per_l: number"):
        sev(0.3, "ten", 5)


# ------------------------------------------------------------------ from tables
def _tables(plt_flag=pd.NA, arc_flag=pd.NA, tx=()):
    labs = pd.DataFrame(
        {
            "subject_id": ["S1"] * 4,
            "lab_date": ["2014-01-09", "2014-01-09", "2014-01-09", "2014-01-11"],
            "test": ["ANC", "PLT", "ARC", "ANC"],
            "value": [0.3, 10.0, 50.0, 0.9],  # the 11 Jan ANC is after day 1
            "pre_transfusion": pd.array([pd.NA, plt_flag, arc_flag, pd.NA], dtype="boolean"),
        }
    )
    transfusions = pd.DataFrame(
        {
            "subject_id": ["S1"] * len(tx),
            "transfusion_date": [d for d, _ in tx],
            "product": [p for _, p in tx],
        }
    )
    marrow = pd.DataFrame(
        {
            "subject_id": ["S1", "S1"],
            "exam_date": ["2013-12-20", "2014-02-20"],
            "cellularity_pct": [10.0, 60.0],
            "residual_hematopoietic_pct": [None, None],
        }
    )
    return labs, transfusions, marrow


def test_severity_at_uses_last_value_on_or_before_day1():
    labs, tx, marrow = _tables()
    s = severity_at("S1", "2014-01-10", labs, tx, marrow)
    assert s.inputs.anc_1e9_per_l == 0.3  # not the 0.9 of 11 Jan
    assert s.inputs.cellularity_pct == 10.0  # not the later marrow
    assert s.inputs.dates["MARROW"].isoformat() == "2013-12-20"
    assert s.level is SAA


@pytest.mark.parametrize(
    ("tx_date", "usable"),
    [
        ("2014-01-06", False),  # exactly 3 days before the 9 Jan sample
        ("2014-01-05", True),  # 4 days before
        ("2014-01-09", False),  # same day, sample order unknown
        ("2014-01-10", True),  # after the sample
    ],
)
def test_d2_plt_three_day_window(tx_date, usable):
    labs, tx, marrow = _tables(tx=[(tx_date, "PLT")])
    s = severity_at("S1", "2014-01-10", labs, tx, marrow)
    assert s.inputs.plt_pre_transfusion is usable
    assert s.level is (SAA if usable else NA_)


def test_d2_plt_window_ignores_rbc_and_flag_overrides():
    labs, tx, marrow = _tables(tx=[("2014-01-08", "RBC")])
    assert severity_at("S1", "2014-01-10", labs, tx, marrow).inputs.plt_pre_transfusion is True
    labs, tx, marrow = _tables(plt_flag=True, tx=[("2014-01-08", "PLT")])
    assert severity_at("S1", "2014-01-10", labs, tx, marrow).inputs.plt_pre_transfusion is True
    labs, tx, marrow = _tables(plt_flag=False)
    s = severity_at("S1", "2014-01-10", labs, tx, marrow)
    assert s.inputs.plt_pre_transfusion is False
    assert s.level is NA_


@pytest.mark.parametrize(
    ("tx_date", "usable"),
    [("2013-12-26", False), ("2013-12-25", True)],  # 14 and 15 days before 9 Jan
)
def test_d2_arc_fourteen_day_window(tx_date, usable):
    labs, tx, marrow = _tables(tx=[(tx_date, "RBC")])
    assert severity_at("S1", "2014-01-10", labs, tx, marrow).inputs.arc_pre_transfusion is usable
