"""Eligibility, hand-worked from TRIAL.md section 1 and D4-D6.

Boundaries: age 1 month and the 18th birthday (D4, inclusive, calendar
arithmetic, leap-day births), 180 days diagnosis -> rATG (D6), ALT/AST 5 x ULN
and creatinine 1.5 x ULN (D5, inclusive), ECOG <= 2 from the 16th birthday and
Lansky >= 50 below it (D5).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from saatrial.rules.eligibility import (
    EligibilityInputs,
    assess_eligibility,
    eligibility_inputs_from_tables,
)
from saatrial.rules.severity import assess_severity

BASE = EligibilityInputs(
    birth_date="2010-03-01",
    diagnosis_date="2014-03-01",
    first_atg_date="2014-03-27",
    severity="VSAA",
    mitomycin_c_test="NEG",
    comet_assay="NEG",
    ngs_ibmfs="NEG",
    hla_matched_sibling=False,
    ecog=None,
    lansky=80,
    alt_u_per_l=30,
    alt_uln_u_per_l=40,
    ast_u_per_l=30,
    ast_uln_u_per_l=40,
    creatinine_umol_per_l=30,
    creatinine_uln_umol_per_l=44,
)


def failed(inputs, params=None):
    return assess_eligibility(inputs, params).failed_names()


def test_base_case_is_eligible():
    e = assess_eligibility(BASE)
    assert e.eligible
    assert e.failed == ()
    assert {c.name for c in e.passed} >= {"age", "severity", "performance", "newly_diagnosed"}


# D4: 1 month old. Born 15 Jan 2014 -> 1 month old on 15 Feb 2014.
@pytest.mark.parametrize(
    ("diagnosed", "ok"),
    [("2014-02-14", False), ("2014-02-15", True), ("2014-02-16", True)],
)
def test_age_one_month(diagnosed, ok):
    x = replace(
        BASE, birth_date="2014-01-15", diagnosis_date=diagnosed, first_atg_date="2014-03-01"
    )
    assert ("age" not in failed(x)) is ok


# Born 31 Jan: one month old on 28 Feb (day clamped in a common year)
@pytest.mark.parametrize(("diagnosed", "ok"), [("2014-02-27", False), ("2014-02-28", True)])
def test_age_one_month_end_of_month(diagnosed, ok):
    x = replace(
        BASE, birth_date="2014-01-31", diagnosis_date=diagnosed, first_atg_date="2014-03-10"
    )
    assert ("age" not in failed(x)) is ok


# D4: the 18th birthday itself is inside; the day after is outside.
@pytest.mark.parametrize(
    ("diagnosed", "ok"),
    [("2018-06-09", True), ("2018-06-10", True), ("2018-06-11", False)],
)
def test_age_18th_birthday(diagnosed, ok):
    x = replace(
        BASE, birth_date="2000-06-10", diagnosis_date=diagnosed, first_atg_date="2018-06-20"
    )
    assert ("age" not in failed(x)) is ok


# Leap-day birth: 18th birthday falls on 28 Feb 2022 (a common year)
@pytest.mark.parametrize(("diagnosed", "ok"), [("2022-02-28", True), ("2022-03-01", False)])
def test_age_18th_birthday_leap_day_birth(diagnosed, ok):
    x = replace(
        BASE, birth_date="2004-02-29", diagnosis_date=diagnosed, first_atg_date="2022-03-10"
    )
    assert ("age" not in failed(x)) is ok


def test_age_reason_names_the_rule():
    x = replace(
        BASE, birth_date="2000-06-10", diagnosis_date="2018-06-11", first_atg_date="2018-06-20"
    )
    (c,) = [c for c in assess_eligibility(x).failed if c.name == "age"]
    assert c.decision_id == "D4"
    assert "18th birthday (2018-06-10)" in c.reason


# D6: 180 days from diagnosis (1 Jan 2014) to first rATG; day 180 = 30 Jun 2014
@pytest.mark.parametrize(
    ("atg", "ok"),
    [("2014-06-29", True), ("2014-06-30", True), ("2014-07-01", False)],
)
def test_newly_diagnosed_180_days(atg, ok):
    x = replace(BASE, diagnosis_date="2014-01-01", first_atg_date=atg)
    assert ("newly_diagnosed" not in failed(x)) is ok


def test_atg_before_diagnosis_fails():
    x = replace(BASE, diagnosis_date="2014-03-01", first_atg_date="2014-02-27")
    assert "newly_diagnosed" in failed(x)


# D5: ALT and AST <= 5 x ULN; ULN 40 -> limit 200
@pytest.mark.parametrize(("alt", "ok"), [(199, True), (200, True), (201, False)])
def test_alt_5x_uln(alt, ok):
    assert ("alt" not in failed(replace(BASE, alt_u_per_l=alt))) is ok


@pytest.mark.parametrize(("ast", "ok"), [(199.9, True), (200, True), (200.1, False)])
def test_ast_5x_uln(ast, ok):
    assert ("ast" not in failed(replace(BASE, ast_u_per_l=ast))) is ok


# D5: creatinine <= 1.5 x ULN; ULN 44 umol/L -> limit 66
@pytest.mark.parametrize(("cr", "ok"), [(65.9, True), (66, True), (66.1, False)])
def test_creatinine_1_5x_uln(cr, ok):
    assert ("creatinine" not in failed(replace(BASE, creatinine_umol_per_l=cr))) is ok


def test_creatinine_decimal_uln_boundary():
    # ULN 0.7 mg/dL-like decimals: 1.5 x 35.3 = 52.95 exactly (binary noise must not fail it)
    x = replace(BASE, creatinine_uln_umol_per_l=35.3, creatinine_umol_per_l=52.95)
    assert "creatinine" not in failed(x)


def test_missing_uln_or_value_fails_with_reason():
    e = assess_eligibility(replace(BASE, alt_uln_u_per_l=None, creatinine_umol_per_l=None))
    reasons = {c.name: c.reason for c in e.failed}
    assert reasons["alt"] == "ALT 30: ULN missing: not assessed"
    assert reasons["creatinine"] == "creatinine not recorded: not assessed"
    assert all(c.decision_id == "D5" for c in e.failed)


# D5: performance. Born 20 May 1998; 16th birthday 20 May 2014.
@pytest.mark.parametrize(
    ("screened", "ecog", "lansky", "ok"),
    [
        ("2014-05-20", 2, None, True),  # 16: ECOG applies, 2 passes
        ("2014-05-20", 3, None, False),
        ("2014-05-20", None, 90, False),  # 16: Lansky does not replace ECOG
        ("2014-05-19", None, 50, True),  # 15: Lansky applies, 50 passes
        ("2014-05-19", None, 49, False),
        ("2014-05-19", 1, None, False),  # 15: ECOG does not replace Lansky
    ],
)
def test_performance_ecog_lansky_at_16(screened, ecog, lansky, ok):
    x = replace(
        BASE,
        birth_date="1998-05-20",
        diagnosis_date="2014-05-01",
        first_atg_date="2014-05-25",
        screening_date=screened,
        ecog=ecog,
        lansky=lansky,
    )
    assert ("performance" not in failed(x)) is ok


@pytest.mark.parametrize(
    ("field", "value", "name", "words"),
    [
        ("mitomycin_c_test", "POS", "fanconi_mmc", "excluded"),
        ("mitomycin_c_test", "ND", "fanconi_mmc", "not assessed"),
        ("comet_assay", "POS", "fanconi_comet", "excluded"),
        ("ngs_ibmfs", "POS", "ngs_ibmfs", "excluded"),
        ("ngs_ibmfs", "ND", "ngs_ibmfs", "not assessed"),
        ("hla_matched_sibling", True, "hla_matched_sibling", "excluded"),
        ("hla_matched_sibling", None, "hla_matched_sibling", "not assessed"),
    ],
)
def test_exclusions(field, value, name, words):
    e = assess_eligibility(replace(BASE, **{field: value}))
    assert not e.eligible
    (c,) = e.failed
    assert c.name == name
    assert words in c.reason


@pytest.mark.parametrize(
    ("level", "ok"),
    [("VSAA", True), ("SAA", True), ("NSAA", False), ("NOT_AA", False), ("NOT_ASSESSABLE", False)],
)
def test_severity_required(level, ok):
    assert ("severity" not in failed(replace(BASE, severity=level))) is ok


def test_unknown_severity_code_raises():
    with pytest.raises(ValueError, match="severity: one of"):
        assess_eligibility(replace(BASE, severity="SEVERE"))


def test_severity_object_reasons_are_passed_on():
    s = assess_severity(0.3, 10, 50, 10, plt_pre_transfusion=False, arc_pre_transfusion=True)
    (c,) = assess_eligibility(replace(BASE, severity=s)).failed
    assert c.name == "severity"
    assert "no pre-transfusion PLT value (D2)" in c.reason


def test_every_failure_is_returned():
    x = replace(BASE, comet_assay="ND", hla_matched_sibling=True, alt_u_per_l=500, lansky=30)
    assert failed(x) == ["fanconi_comet", "hla_matched_sibling", "alt", "performance"]


def test_protocol_parameters_accepted_and_unknown_rejected():
    from saatrial.protocol.model import load_protocol

    params = load_protocol("nct02218437").eligibility
    assert assess_eligibility(BASE, params).eligible
    # BASE has 26 days from diagnosis to rATG: a 20-day limit makes it fail
    assert "newly_diagnosed" in failed(BASE, {**params, "max_days_diagnosis_to_atg": 20})
    with pytest.raises(ValueError, match="unknown"):
        assess_eligibility(BASE, {"age_max_yeras": 18})


def test_inputs_from_tables():
    subjects = pd.DataFrame(
        {"subject_id": ["S1"], "birth_date": ["2010-03-01"], "diagnosis_date": ["2014-03-01"]}
    )
    screening = pd.DataFrame(
        {
            "subject_id": ["S1"],
            "screening_date": ["2014-03-20"],
            "mitomycin_c_test": ["NEG"],
            "comet_assay": ["NEG"],
            "ngs_ibmfs": ["NEG"],
            "hla_matched_sibling": ["N"],
            "ecog": [pd.NA],
            "lansky": [70],
        }
    )
    labs = pd.DataFrame(
        {
            "subject_id": ["S1"] * 4,
            "lab_date": ["2014-03-20", "2014-03-20", "2014-03-20", "2014-04-20"],
            "test": ["ALT", "AST", "CREAT", "ALT"],
            "value": [45.0, 30.0, 28.0, 900.0],  # the April ALT is after day 1
            "uln": [40.0, 40.0, 44.0, 40.0],
        }
    )
    exposures = pd.DataFrame({"subject_id": ["S1"], "drug": ["RATG"], "start_date": ["2014-03-27"]})
    x = eligibility_inputs_from_tables("S1", subjects, screening, labs, exposures, "SAA")
    assert x.alt_u_per_l == 45.0 and x.alt_uln_u_per_l == 40.0
    assert x.hla_matched_sibling is False
    assert str(x.first_atg_date) == "2014-03-27"
    assert assess_eligibility(x).eligible
