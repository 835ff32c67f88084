"""The protocol loader against the trial as written in TRIAL.md §2-§3 (D7-D9)."""

from __future__ import annotations

import pytest
import yaml

from saatrial.protocol import load_protocol
from saatrial.protocol.model import Visit


@pytest.fixture(scope="module")
def protocol():
    return load_protocol("nct02218437")


def test_identity(protocol):
    assert protocol.protocol_id == "nct02218437"
    assert protocol.registry_id == "NCT02218437"
    assert protocol.version
    assert protocol.response_criteria_set == "cn-peds-2014"
    assert protocol.primary_response_visit == "D90"
    assert protocol.days_per_month == 30.4375  # TRIAL.md §5


def test_arms_and_regimen(protocol):
    assert set(protocol.arms) == {"MSC", "CONTROL"}
    assert protocol.arm_drugs("MSC") == ["RATG", "CSA", "UCMSC"]
    assert protocol.arm_drugs("CONTROL") == ["RATG", "CSA"]
    assert protocol.msc_dose_1e6_cells_per_kg("MSC", "MSC-1") == 1.0
    assert protocol.msc_dose_1e6_cells_per_kg("CONTROL", "NONE") is None


def test_drugs_as_in_trial_md(protocol):
    ratg, csa, msc = (protocol.drugs[d] for d in ("RATG", "CSA", "UCMSC"))
    # rATG 3 mg/kg/day IV x 5 days (D7: days 1-5)
    assert (ratg.dose_per_kg, ratg.dose_unit, ratg.frequency, ratg.route) == (3.0, "mg", "QD", "IV")
    assert ratg.days == (1, 2, 3, 4, 5)
    # CsA 5 mg/kg/day split every 12 h = 2.5 mg/kg per dose, >= 12 months (D8)
    assert (csa.dose_per_kg, csa.frequency, csa.route) == (2.5, "Q12H", "oral")
    assert csa.raw["daily_dose_per_kg"] == 5.0
    assert csa.raw["full_dose_months"] == 12
    assert csa.raw["target_trough_ng_per_ml"] == [100, 200]
    # UC-MSC on days 14, 21, 28, window +/- 2 (D7); dose from the dose level
    assert msc.days == (14, 21, 28) and msc.window_days == 2
    assert msc.dose_per_kg is None and msc.dose_unit == "cells"


def test_visit_windows_d9(protocol):
    got = {c: (v.target_day, v.earliest_day, v.latest_day) for c, v in protocol.visits.items()}
    assert got == {"D40": (40, 33, 47), "D90": (90, 76, 104), "D180": (180, 150, 210)}


def test_visit_window_inclusive_bounds():
    v = Visit("X", target_day=10, window_days=0, label="x")
    assert v.earliest_day == v.latest_day == 10


def test_every_decision_is_a_parameter(protocol):
    ids = {key.split("_")[0] for key in protocol.decisions}
    assert ids == {f"D{i}" for i in range(1, 20)}
    assert protocol.decisions["D17_anaphylaxis_coding"] == {
        "low_grade_term": "Allergic reaction",
        "high_grade_term": "Anaphylaxis",
        "high_grade_from": 3,
    }


@pytest.mark.parametrize(
    ("drug", "weight", "expected"),
    [
        ("RATG", 15.0, 45.0),  # 3 mg/kg x 15 kg
        ("CSA", 15.0, 37.5),  # 2.5 mg/kg per 12-h dose x 15 kg
        ("RATG", 22.0, 66.0),
        ("CSA", 8.0, 20.0),
    ],
)
def test_dose_per_administration_mg(protocol, drug, weight, expected):
    assert protocol.dose_per_administration(drug, weight) == pytest.approx(expected)


def test_dose_per_administration_cells(protocol):
    assert protocol.dose_per_administration("UCMSC", 15.0, "MSC", "MSC-1") == 1.5e7
    with pytest.raises(ValueError, match="dose level"):
        protocol.dose_per_administration("UCMSC", 15.0)
    with pytest.raises(ValueError, match="no MSC dose"):
        protocol.dose_per_administration("UCMSC", 15.0, "CONTROL", "NONE")


def test_load_from_yaml_path(tmp_path, protocol):
    raw = dict(protocol.raw)
    raw["visits"] = {"D30": {"target_day": 30, "window_days": 3, "label": "day 30"}}
    raw["protocol_id"] = "variant"
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    other = load_protocol(path)
    assert other.protocol_id == "variant"
    assert list(other.visits) == ["D30"] and other.visits["D30"].latest_day == 33


def test_unknown_protocol_refused():
    with pytest.raises(FileNotFoundError, match="no protocol named"):
        load_protocol("nct00000000")
