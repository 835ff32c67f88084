"""Soft-range warnings and the protocol dose check, against hand-worked cases.

Limits are read from the criteria text, not from the code's tables:
dictionary.yaml subjects.weight_kg hard [1, 200], soft [3, 120]; lab_tests HGB
hard [10, 250], soft [30, 200] g/L; K soft [2.5, 7.0] mmol/L; protocol
nct02218437: rATG 3 mg/kg/day QD, CsA 5 mg/kg/day split every 12 h (2.5 mg/kg
per administration), UC-MSC 1 x 10^6 cells/kg (dose level MSC-1), dose
tolerance 10 % (inclusive).
"""

from __future__ import annotations

import pytest

from saatrial.edc.crf.plausibility import (
    DoseCheckStatus,
    check_dose,
    protocol_dose,
    soft_range_warnings,
)
from saatrial.protocol.model import load_protocol

P = load_protocol("nct02218437")


@pytest.mark.parametrize(
    ("weight", "warned"),
    [
        (3.0, False),  # soft-range boundary: plausible
        (2.9, True),  # just below
        (120.0, False),  # upper boundary
        (120.5, True),  # just above
        (200.5, False),  # outside the HARD range: an error elsewhere, not a warning
        (0.5, False),
    ],
)
def test_subject_weight_soft_range(weight, warned):
    found = soft_range_warnings("subjects", {"weight_kg": weight})
    assert bool(found) is warned
    if warned:
        (w,) = found
        assert (w.table, w.field, w.rule) == ("subjects", "weight_kg", "soft_range [3, 120]")
        assert w.message == f"weight_kg: soft_range [3, 120]: {weight:g}"


@pytest.mark.parametrize(
    ("test", "value", "warned"),
    [
        ("HGB", 200.0, False),
        ("HGB", 201.0, True),
        ("HGB", 30.0, False),
        ("HGB", 29.0, True),
        ("HGB", 251.0, False),  # hard error, not a warning
        ("K", 7.0, False),
        ("K", 7.1, True),
        ("ANC", 30.0, False),
        ("ANC", 30.5, True),
    ],
)
def test_lab_soft_range_is_per_test(test, value, warned):
    found = soft_range_warnings("labs", {"test": test, "value": value})
    assert bool(found) is warned
    if warned:
        assert found[0].field == "value" and test in found[0].rule


def test_lab_value_without_a_known_test_gives_no_warning():
    assert soft_range_warnings("labs", {"test": "", "value": 1e6}) == ()
    assert soft_range_warnings("labs", {"test": "HGB", "value": None}) == ()


def test_t_cell_fields_have_their_own_soft_ranges():
    found = soft_range_warnings("tcell_subsets", {"cd3cd4_pct": 4.9, "treg_pct_of_cd4": 20.0})
    assert [w.field for w in found] == ["cd3cd4_pct"]


@pytest.mark.parametrize(
    ("dose", "status"),
    [
        (45.0, DoseCheckStatus.WITHIN),
        (49.5, DoseCheckStatus.WITHIN),  # exactly +10 %: boundary passes
        (49.51, DoseCheckStatus.OUTSIDE),  # just above
        (40.5, DoseCheckStatus.WITHIN),  # exactly -10 %
        (40.49, DoseCheckStatus.OUTSIDE),  # just below
    ],
)
def test_ratg_dose_tolerance_for_15_kg(dose, status):
    # 3 mg/kg x 15 kg = 45 mg; 10 % = 4.5 mg
    check = check_dose(P, "RATG", dose, "mg", 15.0, "CONTROL", "NONE")
    assert check.status is status
    assert check.expected_dose == pytest.approx(45.0)
    assert check.deviation_fraction == pytest.approx((dose - 45.0) / 45.0)
    assert (check.warning() is not None) is (status is DoseCheckStatus.OUTSIDE)


def test_dose_warning_message_names_expected_dose_and_deviation():
    check = check_dose(P, "CSA", 50.0, "mg", 20.0, "CONTROL", "NONE")
    # CsA 2.5 mg/kg per administration x 20 kg = 50 mg: within
    assert check.status is DoseCheckStatus.WITHIN
    check = check_dose(P, "CSA", 40.0, "mg", 20.0, "CONTROL", "NONE")
    assert check.status is DoseCheckStatus.OUTSIDE
    assert check.message == ("dose_tolerance (expected 50 mg ± 10 % for 20 kg; 20.0 % below): 40")
    assert check.warning().message == (
        "dose: dose_tolerance (expected 50 mg ± 10 % for 20 kg; 20.0 % below): 40"
    )


def test_ucmsc_dose_comes_from_the_dose_level():
    # MSC-1: 1 x 10^6 cells/kg x 15 kg = 1.5 x 10^7 cells
    check = check_dose(P, "UCMSC", 1.65e7, "cells", 15.0, "MSC", "MSC-1")
    assert check.status is DoseCheckStatus.WITHIN and check.expected_dose == pytest.approx(1.5e7)
    assert check_dose(P, "UCMSC", 1.66e7, "cells", 15.0, "MSC", "MSC-1").status is (
        DoseCheckStatus.OUTSIDE
    )


@pytest.mark.parametrize(
    ("drug", "unit", "arm", "why"),
    [
        ("UCMSC", "cells", "CONTROL", "not given in arm CONTROL"),
        ("RATG", "cells", "CONTROL", "is not the protocol unit"),
        ("XYZ", "mg", "CONTROL", "no protocol regimen"),
    ],
)
def test_doses_that_cannot_be_compared_are_not_checked(drug, unit, arm, why):
    check = check_dose(P, drug, 10.0, unit, 15.0, arm, "NONE")
    assert check.status is DoseCheckStatus.NOT_CHECKED and why in check.rule
    assert check.warning() is None


def test_protocol_dose_prefill():
    ratg = protocol_dose(P, "RATG", 28.5)
    assert (ratg.dose, ratg.dose_unit, ratg.frequency) == (pytest.approx(85.5), "mg", "QD")
    csa = protocol_dose(P, "CSA", 28.5)
    assert (csa.dose, csa.frequency, csa.dose_text) == (pytest.approx(71.25), "Q12H", "71.25 mg")
    msc = protocol_dose(P, "UCMSC", 20.0, "MSC", "MSC-1")
    assert msc.dose == pytest.approx(2.0e7) and msc.basis == "1 x 10^6 cells/kg x 20 kg"
    with pytest.raises(ValueError, match="no regimen"):
        protocol_dose(P, "XYZ", 20.0)
