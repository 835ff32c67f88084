"""Every published fact of NCT02218437 holds in the bundled study, one test per fact.

The bundled CSV folder is read with plain pandas (no saatrial code), and every
expected value is read from ``shared/spec/published_results.yaml`` (Lan et al.,
BMC Pediatr 2021;21:102), never retyped. Clinical derivations used here
(Camitta severity, response, follow-up) are written in this file from the text
of TRIAL.md, independently of the package and of the generator.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "src" / "saatrial" / "study" / "bundled" / "nct02218437"
DICTIONARY_YAML = REPO / "src" / "saatrial" / "dictionary.yaml"
PROTOCOL_YAML = REPO / "src" / "saatrial" / "protocol" / "nct02218437.yaml"
PUBLISHED_YAML = Path(__file__).resolve().parents[3] / "shared" / "spec" / "published_results.yaml"
DAYS_PER_MONTH = 30.4375  # TRIAL.md 5


# ---------------------------------------------------------------------------
# Loading with plain pandas
# ---------------------------------------------------------------------------
@cache
def dictionary() -> dict[str, Any]:
    return yaml.safe_load(DICTIONARY_YAML.read_text(encoding="utf-8"))


@cache
def protocol() -> dict[str, Any]:
    return yaml.safe_load(PROTOCOL_YAML.read_text(encoding="utf-8"))


@cache
def raw(table: str) -> pd.DataFrame:
    """The CSV of a table as strings; empty cells are NA."""
    frame = pd.read_csv(BUNDLED / f"{table}.csv", dtype=str, keep_default_na=False)
    return frame.replace("", pd.NA)


@cache
def typed(table: str) -> pd.DataFrame:
    """The table with dictionary types (dates, Int64, float, boolean)."""
    frame = raw(table).copy()
    for name, spec in dictionary()["tables"][table]["fields"].items():
        kind = spec["type"]
        if kind == "date":
            frame[name] = pd.to_datetime(frame[name], format="%Y-%m-%d")
        elif kind == "integer":
            frame[name] = pd.to_numeric(frame[name]).astype("Int64")
        elif kind == "number":
            frame[name] = pd.to_numeric(frame[name]).astype(float)
        elif kind == "boolean":
            frame[name] = frame[name].map({"Y": True, "N": False}).astype("boolean")
    return frame


@pytest.fixture(scope="module")
def published() -> dict[str, Any]:
    if not PUBLISHED_YAML.is_file():
        pytest.skip(f"published results not found at {PUBLISHED_YAML} (../shared is absent)")
    return yaml.safe_load(PUBLISHED_YAML.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------
# Derivations written from TRIAL.md
# ---------------------------------------------------------------------------
def subjects() -> pd.DataFrame:
    return typed("subjects").set_index("subject_id")


def arm_ids(arm: str) -> list[str]:
    s = subjects()
    return sorted(s.index[s["arm_id"] == arm])


def day1() -> pd.Series:
    """Study day 1 = first rATG dose (D7)."""
    ex = typed("exposures")
    return ex[ex["drug"] == "RATG"].groupby("subject_id")["start_date"].min()


def completed_years(birth: pd.Timestamp, on: pd.Timestamp) -> int:
    return on.year - birth.year - int((on.month, on.day) < (birth.month, birth.day))


def baseline_lab(test: str) -> pd.Series:
    """Last value on or before day 1, dated on/after consent, per subject."""
    labs = typed("labs")
    labs = labs[labs["test"] == test].join(day1().rename("day1"), on="subject_id")
    labs = labs.join(subjects()["consent_date"], on="subject_id")
    labs = labs[(labs["lab_date"] <= labs["day1"]) & (labs["lab_date"] >= labs["consent_date"])]
    return labs.sort_values("lab_date").groupby("subject_id")["value"].last()


def transfused_within(subject: str, product: str, on: pd.Timestamp, days: int) -> bool:
    """A transfusion of ``product`` in the ``days`` days before ``on`` (not on the day)."""
    t = typed("transfusions")
    t = t[(t["subject_id"] == subject) & (t["product"] == product)]
    gap = (on - t["transfusion_date"]).dt.days
    return bool(((gap >= 1) & (gap <= days)).any())


def camitta_severity(
    cellularity_pct: float,
    residual_pct: float | None,
    anc: float,
    plt: float,
    plt_counts: bool,
    arc: float,
    arc_counts: bool,
) -> str:
    """TRIAL.md 1 (D1 strict '<', D2 pre-transfusion, D3 vSAA needs SAA)."""
    marrow = cellularity_pct < 25 or (
        25 <= cellularity_pct <= 50 and residual_pct is not None and residual_pct < 30
    )
    blood = sum([anc < 0.5, plt_counts and plt < 20, arc_counts and arc < 20])
    if not (marrow and blood >= 2):
        return "NOT_SAA"
    return "VSAA" if anc < 0.2 else "SAA"


def baseline_severity() -> pd.Series:
    """Camitta severity of every subject at baseline (labs and screening marrow)."""
    d1 = day1()
    marrow = typed("marrow_exams")
    labs = typed("labs")
    out = {}
    for sid in subjects().index:
        exams = marrow[(marrow["subject_id"] == sid) & (marrow["exam_date"] <= d1[sid])]
        exam = exams.sort_values("exam_date").iloc[-1]
        values, flags, dates = {}, {}, {}
        for test in ("ANC", "PLT", "ARC"):
            rows = labs[(labs["subject_id"] == sid) & (labs["test"] == test)]
            row = rows[rows["lab_date"] <= d1[sid]].sort_values("lab_date").iloc[-1]
            values[test], flags[test], dates[test] = (
                row["value"], row["pre_transfusion"], row["lab_date"]
            )
        # D2: flagged pre-transfusion, or no transfusion in the 3 (PLT) / 14 (RBC) days before
        plt_counts = bool(flags["PLT"] is True) or not transfused_within(
            sid, "PLT", dates["PLT"], 3
        )
        arc_counts = bool(flags["ARC"] is True) or not transfused_within(
            sid, "RBC", dates["ARC"], 14
        )
        residual = exam["residual_hematopoietic_pct"]
        out[sid] = camitta_severity(
            exam["cellularity_pct"], None if pd.isna(residual) else residual,
            values["ANC"], values["PLT"], plt_counts, values["ARC"], arc_counts,
        )  # fmt: skip
    return pd.Series(out)


def who_hgb_normal(hgb_g_per_l: float, age_years: int, sex: str) -> bool:
    """D13 (WHO 2011): 6-59 months 110; 5-11 y 115; 12-14 y 120; >= 15 y F 120, M 130."""
    if age_years < 5:
        return hgb_g_per_l >= 110
    if age_years < 12:
        return hgb_g_per_l >= 115
    if age_years < 15:
        return hgb_g_per_l >= 120
    return hgb_g_per_l >= (120 if sex == "F" else 130)


def response_from_data(subject: str, on: pd.Timestamp, ti_days: int = 28) -> str:
    """TRIAL.md 4 with D10 (ARC - baseline > 30), D11, D12, D14."""
    labs = typed("labs")
    day = labs[(labs["subject_id"] == subject) & (labs["lab_date"] == on)]
    value = dict(zip(day["test"], day["value"], strict=True))
    independent = not (
        transfused_within(subject, "RBC", on, ti_days)
        or transfused_within(subject, "PLT", on, ti_days)
    )
    s = subjects().loc[subject]
    age = completed_years(s["birth_date"], on)
    if (
        independent and value["ANC"] > 1.5 and value["PLT"] > 100
        and who_hgb_normal(value["HGB"], age, s["sex"])
    ):  # fmt: skip
        return "CR"
    if (
        independent and value["ANC"] > 0.5 and value["PLT"] > 20
        and value["ARC"] - baseline_lab("ARC")[subject] > 30
    ):  # fmt: skip
        return "PR"
    return "NR"


def events(kind: str) -> pd.DataFrame:
    ev = typed("outcome_events")
    return ev[ev["event_type"] == kind].join(subjects()["arm_id"], on="subject_id")


def months_from_day1(frame: pd.DataFrame, column: str = "event_date") -> pd.Series:
    d1 = frame["subject_id"].map(day1())
    return (frame[column] - d1).dt.days / DAYS_PER_MONTH


def observed_follow_up_months() -> pd.Series:
    """Death, loss to follow-up or last contact minus day 1, per subject (months)."""
    ev = typed("outcome_events")
    ends = ev[ev["event_type"].isin(["DEATH", "LOST_TO_FOLLOW_UP", "LAST_CONTACT"])]
    assert not ends["subject_id"].duplicated().any(), "one end of follow-up per subject"
    return pd.Series(months_from_day1(ends).to_numpy(), index=ends["subject_id"])


def recorded_responses(visit: str) -> pd.DataFrame:
    r = typed("response_assessments")
    return r[r["visit"] == visit].join(subjects()["arm_id"], on="subject_id")


# ---------------------------------------------------------------------------
# Test helpers tested on hand-worked cases (TRIAL.md 1 and 4)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # marrow 20 %, ANC 0.19, PLT 10 -> vSAA
        ((20, None, 0.19, 10, True, 50, True), "VSAA"),
        # ANC exactly 0.2 is not < 0.2 -> SAA, not vSAA (D1)
        ((20, None, 0.2, 10, True, 50, True), "SAA"),
        # ANC 0.5 and PLT 20 are not below the thresholds; ARC 19.9 alone -> not SAA
        ((20, None, 0.5, 20, True, 19.9, True), "NOT_SAA"),
        # cellularity exactly 25 % needs residual < 30 %: 29 -> SAA, 30 -> not SAA
        ((25, 29, 0.3, 10, True, 50, True), "SAA"),
        ((25, 30, 0.3, 10, True, 50, True), "NOT_SAA"),
        # a PLT that is not pre-transfusion does not count (D2): ANC only -> not SAA
        ((10, None, 0.3, 10, False, 50, True), "NOT_SAA"),
    ],
)
def test_helper_camitta_severity_hand_worked(case: tuple, expected: str) -> None:
    assert camitta_severity(*case) == expected


def test_helper_who_hgb_cutoffs_hand_worked() -> None:
    assert who_hgb_normal(110, 4, "F") and not who_hgb_normal(109, 4, "F")
    assert who_hgb_normal(115, 5, "M") and not who_hgb_normal(114, 11, "M")
    assert who_hgb_normal(120, 14, "F") and not who_hgb_normal(119, 12, "F")
    assert who_hgb_normal(120, 15, "F") and not who_hgb_normal(129, 15, "M")


def test_every_subject_was_eligible() -> None:
    """TRIAL.md 1 with D4-D6: age, newly diagnosed, IBMFS work-up, sibling, organs, Lansky."""
    s = subjects()
    scr = typed("screening").set_index("subject_id")
    labs = typed("labs")
    for sid, row in s.iterrows():
        dx = row["diagnosis_date"]
        # D4: from 1 month old up to and including the 18th birthday, at diagnosis
        assert row["birth_date"] + pd.DateOffset(months=1) <= dx
        assert dx <= row["birth_date"] + pd.DateOffset(years=18)
        assert (day1()[sid] - dx).days <= 180  # D6
        screening = scr.loc[sid]
        assert (screening[["mitomycin_c_test", "comet_assay", "ngs_ibmfs"]] == "NEG").all()
        assert not screening["hla_matched_sibling"]
        age = completed_years(row["birth_date"], screening["screening_date"])
        if age < 16:  # D5
            assert screening["lansky"] >= 50
        else:
            assert screening["ecog"] <= 2
        chem = labs[(labs["subject_id"] == sid) & (labs["lab_date"] == screening["screening_date"])]
        chem = chem.set_index("test")
        for test, max_x_uln in (("ALT", 5.0), ("AST", 5.0), ("CREAT", 1.5)):  # D5
            assert chem.loc[test, "value"] <= max_x_uln * chem.loc[test, "uln"], (sid, test)


# ---------------------------------------------------------------------------
# study
# ---------------------------------------------------------------------------
def test_study_registry_id(published: dict) -> None:
    assert raw("study").loc[0, "registry_id"] == published["study"]["registry_id"]


def test_study_row_ids_and_dictionary_version() -> None:
    row = raw("study").iloc[0]
    assert len(raw("study")) == 1
    assert (row["study_id"], row["protocol_id"]) == ("nct02218437", protocol()["protocol_id"])
    assert row["dictionary_version"] == str(dictionary()["version"])


def test_study_enrollment_window(published: dict) -> None:
    first, last = published["study"]["enrollment_window"]
    row = typed("study").iloc[0]
    assert row["enrolment_start"].strftime("%Y-%m") == first
    assert row["enrolment_end"].strftime("%Y-%m") == last
    enrolled = subjects()["enrolment_date"]
    assert enrolled.between(row["enrolment_start"], row["enrolment_end"]).all()
    assert day1().between(row["enrolment_start"], row["enrolment_end"]).all()


def test_study_follow_up_cutoff(published: dict) -> None:
    cutoff = pd.Timestamp(published["study"]["follow_up_cutoff"])
    assert typed("study").iloc[0]["data_cutoff_date"] == cutoff
    last = events("LAST_CONTACT")
    assert (last["event_date"] == cutoff).all()
    ev = typed("outcome_events")
    assert (ev["event_date"] <= cutoff).all()


@pytest.mark.parametrize("arm", ["MSC", "CONTROL"])
def test_study_arm_label_and_size(published: dict, arm: str) -> None:
    expected = published["study"]["arms"][arm]
    arms = raw("arms").set_index("arm_id")
    assert arms.loc[arm, "label"] == expected["label"]
    assert len(arm_ids(arm)) == expected["n"]


def test_study_single_site_and_dose_levels() -> None:
    sites = raw("sites")
    assert len(sites) == 1 and sites.loc[0, "country"] == "CN"
    assert "Institute of Hematology and Blood Diseases Hospital" in sites.loc[0, "name"]
    s = subjects()
    assert (s["site_id"] == sites.loc[0, "site_id"]).all()
    levels = dict(zip(s["arm_id"], s["dose_level_id"], strict=False))
    assert levels == {"MSC": "MSC-1", "CONTROL": "NONE"}


# ---------------------------------------------------------------------------
# baseline_msc
# ---------------------------------------------------------------------------
def msc_age_at_diagnosis() -> pd.Series:
    s = subjects().loc[arm_ids("MSC")]
    return pd.Series(
        [completed_years(b, d) for b, d in zip(s["birth_date"], s["diagnosis_date"], strict=True)],
        index=s.index,
    )


def msc_days_diagnosis_to_atg() -> pd.Series:
    s = subjects().loc[arm_ids("MSC")]
    return (day1()[s.index] - s["diagnosis_date"]).dt.days


def test_baseline_msc_age_median(published: dict) -> None:
    assert msc_age_at_diagnosis().median() == published["baseline_msc"]["age_median"]


def test_baseline_msc_age_range(published: dict) -> None:
    ages = msc_age_at_diagnosis()
    assert [ages.min(), ages.max()] == published["baseline_msc"]["age_range"]


def test_baseline_msc_male(published: dict) -> None:
    assert (subjects().loc[arm_ids("MSC"), "sex"] == "M").sum() == published["baseline_msc"][
        "male"
    ]


def test_baseline_msc_female(published: dict) -> None:
    assert (subjects().loc[arm_ids("MSC"), "sex"] == "F").sum() == published["baseline_msc"][
        "female"
    ]


def test_baseline_msc_vsaa(published: dict) -> None:
    severity = baseline_severity()[arm_ids("MSC")]
    assert (severity == "VSAA").sum() == published["baseline_msc"]["vsaa"]


def test_baseline_everyone_is_saa_by_camitta() -> None:
    """Eligibility: every enrolled child had SAA or vSAA at baseline (TRIAL.md 1)."""
    assert baseline_severity().isin(["SAA", "VSAA"]).all()


def test_baseline_msc_days_diagnosis_to_atg_median(published: dict) -> None:
    days = msc_days_diagnosis_to_atg()
    assert days.median() == published["baseline_msc"]["days_diagnosis_to_atg_median"]


def test_baseline_msc_days_diagnosis_to_atg_range(published: dict) -> None:
    days = msc_days_diagnosis_to_atg()
    assert [days.min(), days.max()] == published["baseline_msc"]["days_diagnosis_to_atg_range"]


@pytest.mark.parametrize("test", ["ANC", "PLT", "HGB", "ARC"])
def test_baseline_msc_lab_median(published: dict, test: str) -> None:
    values = baseline_lab(test)[arm_ids("MSC")]
    assert len(values) == 9
    assert values.median() == pytest.approx(published["baseline_msc"][f"{test.lower()}_median"])


@pytest.mark.parametrize("test", ["ANC", "PLT", "HGB", "ARC"])
def test_baseline_msc_lab_range(published: dict, test: str) -> None:
    values = baseline_lab(test)[arm_ids("MSC")]
    low, high = published["baseline_msc"][f"{test.lower()}_range"]
    assert values.min() == pytest.approx(low)
    assert values.max() == pytest.approx(high)


def test_baseline_msc_doses_completed(published: dict) -> None:
    ex = typed("exposures")
    msc = ex[ex["drug"] == "UCMSC"]
    per_subject = msc.groupby("subject_id").size().reindex(arm_ids("MSC"), fill_value=0)
    assert (per_subject == 3).sum() == published["baseline_msc"]["msc_doses_completed"]


def test_baseline_control_anc_median(published: dict) -> None:
    values = baseline_lab("ANC")[arm_ids("CONTROL")]
    assert len(values) == 9
    assert values.median() == pytest.approx(published["baseline_control"]["anc_median"])


def test_baseline_control_plausible_and_matched() -> None:
    """Control arm: ages 1-14, both sexes, 5-7 vSAA (brief; paper: 'well-matched')."""
    s = subjects().loc[arm_ids("CONTROL")]
    pairs = zip(s["birth_date"], s["diagnosis_date"], strict=True)
    ages = [completed_years(b, d) for b, d in pairs]
    assert 1 <= min(ages) and max(ages) <= 14
    assert set(s["sex"]) == {"M", "F"}
    assert 5 <= (baseline_severity()[arm_ids("CONTROL")] == "VSAA").sum() <= 7


# ---------------------------------------------------------------------------
# safety
# ---------------------------------------------------------------------------
REACTION_TERMS = {"Allergic reaction", "Anaphylaxis"}  # D17 coding of 'anaphylactic reaction'
INFECTION = re.compile(r"infection|sepsis", re.IGNORECASE)  # CTCAE SOC infections


def adverse_events() -> pd.DataFrame:
    return typed("adverse_events").join(subjects()[["arm_id", "sex"]], on="subject_id")


def ratg_reactions_msc() -> pd.DataFrame:
    ae = adverse_events()
    return ae[
        (ae["arm_id"] == "MSC")
        & ae["ctcae_term"].isin(REACTION_TERMS)
        & ae["attribution_ratg"].isin(["PROBABLE", "DEFINITE"])
    ]


def test_safety_msc_anaphylaxis_any(published: dict) -> None:
    assert ratg_reactions_msc()["subject_id"].nunique() == published["safety"][
        "msc_anaphylaxis_any"
    ]


def test_safety_msc_anaphylaxis_grade_1_2(published: dict) -> None:
    worst = ratg_reactions_msc().groupby("subject_id")["grade"].max()
    assert worst.between(1, 2).sum() == published["safety"]["msc_anaphylaxis_grade_1_2"]


def test_safety_msc_anaphylaxis_grade_3(published: dict) -> None:
    worst = ratg_reactions_msc().groupby("subject_id")["grade"].max()
    assert (worst == 3).sum() == published["safety"]["msc_anaphylaxis_grade_3"]


def test_safety_reactions_coded_per_d17() -> None:
    """D17: grade 1-2 -> 'Allergic reaction', grade >= 3 -> 'Anaphylaxis'."""
    ae = adverse_events()
    assert ae.loc[ae["ctcae_term"] == "Allergic reaction", "grade"].between(1, 2).all()
    assert (ae.loc[ae["ctcae_term"] == "Anaphylaxis", "grade"] >= 3).all()
    assert ae.loc[ae["ctcae_term"].isin(REACTION_TERMS), "start_date"].notna().all()


def test_safety_msc_oral_mucositis_grade_2(published: dict) -> None:
    ae = adverse_events()
    muc = ae[(ae["arm_id"] == "MSC") & (ae["ctcae_term"] == "Mucositis oral") & (ae["grade"] == 2)]
    assert muc["subject_id"].nunique() == published["safety"]["msc_oral_mucositis_grade_2"]
    # 'one of them' (the four), 'her', 'after UC-MSCs infusion'
    assert set(muc["subject_id"]) <= set(ratg_reactions_msc()["subject_id"])
    assert (muc["sex"] == "F").all()
    ex = typed("exposures")
    last_msc = ex[ex["drug"] == "UCMSC"].groupby("subject_id")["start_date"].max()
    assert (muc["start_date"].to_numpy() > muc["subject_id"].map(last_msc).to_numpy()).all()


@pytest.mark.parametrize("arm", ["MSC", "CONTROL"])
def test_safety_severe_infection_grade_ge3(published: dict, arm: str) -> None:
    ae = adverse_events()
    infection = ae["ctcae_term"].str.contains(INFECTION)
    severe = ae[(ae["arm_id"] == arm) & infection & (ae["grade"] >= 3)]
    assert severe["subject_id"].nunique() == published["safety"]["severe_infection_grade_ge3"][arm]


def test_safety_ctcae_version(published: dict) -> None:
    assert raw("adverse_events")["ctcae_version"].str.startswith(
        published["safety"]["ctcae_version"]
    ).all()


def test_safety_no_other_grade_ge3_events() -> None:
    """'No other severe side effects': grade >= 3 only the reaction, infections, deaths."""
    ae = adverse_events()
    severe = ae[ae["grade"] >= 3]
    allowed = severe["ctcae_term"].str.contains(INFECTION) | severe["ctcae_term"].isin(
        ["Anaphylaxis", "Intracranial hemorrhage"]
    )
    assert allowed.all(), severe[~allowed]
    assert (ae.loc[ae["arm_id"] == "CONTROL", "attribution_ucmsc"] == "NA").all()


def test_abnormal_chemistry_only_where_an_adverse_event_is_recorded() -> None:
    """Chemistry outside LLN-ULN only on the onset date of the matching lab AE (grade 1)."""
    terms = {("ALT", "high"): "Alanine aminotransferase increased", ("MG", "low"): "Hypomagnesemia"}
    labs = typed("labs")
    chem = labs[labs["test"].isin(["ALT", "AST", "BILI", "CREAT", "MG", "K"])]
    high = chem[chem["value"] > chem["uln"]].assign(direction="high")
    low = chem[chem["value"] < chem["lln"]].assign(direction="low")
    ae = adverse_events()
    for row in pd.concat([high, low]).itertuples():
        term = terms.get((row.test, row.direction))
        match = ae[(ae["subject_id"] == row.subject_id) & (ae["ctcae_term"] == term)]
        assert len(match) == 1 and match["start_date"].iloc[0] == row.lab_date, row
        if row.direction == "high":  # CTCAE v4.03 grade 1: > ULN - 3.0 x ULN
            assert row.value <= 3 * row.uln and match["grade"].iloc[0] == 1
        else:  # grade 1: < LLN - 0.5 mmol/L
            assert row.value >= 0.5 and match["grade"].iloc[0] == 1


# ---------------------------------------------------------------------------
# response_day90
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("arm", ["MSC", "CONTROL"])
@pytest.mark.parametrize("response", ["CR", "PR", "NR"])
def test_response_day90(published: dict, arm: str, response: str) -> None:
    d90 = recorded_responses("D90")
    d90 = d90[d90["arm_id"] == arm]
    assert len(d90) == 9
    assert (d90["criteria_set"] == protocol()["response_criteria_set"]).all()
    assert (d90["response"] == response).sum() == published["response_day90"][arm][response]


def test_recorded_responses_follow_from_labs_and_transfusions() -> None:
    """Every recorded response equals TRIAL.md 4 applied to the data (28 and 56 days, D11)."""
    mismatches = []
    for row in typed("response_assessments").itertuples():
        for ti_days in (28, 56):
            derived = response_from_data(row.subject_id, row.assessment_date, ti_days)
            if derived != row.response:
                mismatches.append((row.subject_id, row.visit, row.response, derived, ti_days))
    assert not mismatches


def test_response_visits_inside_windows() -> None:
    """D9 windows, and a D180 assessment only while on study without HSCT/death/loss."""
    r = typed("response_assessments")
    day = (r["assessment_date"] - r["subject_id"].map(day1())).dt.days + 1
    target = r["visit"].map({"D40": 40, "D90": 90, "D180": 180})
    half = r["visit"].map({"D40": 7, "D90": 14, "D180": 30})
    assert ((day - target).abs() <= half).all()
    assert set(r.loc[r["visit"] == "D90", "subject_id"]) == set(subjects().index)
    stop = pd.concat([events(k) for k in ("HSCT", "DEATH", "LOST_TO_FOLLOW_UP")])
    first_stop = stop.groupby("subject_id")["event_date"].min()
    after = r["assessment_date"] > r["subject_id"].map(first_stop)
    assert not after.any()


# ---------------------------------------------------------------------------
# long_term
# ---------------------------------------------------------------------------
def test_long_term_median_follow_up_months(published: dict) -> None:
    follow_up = observed_follow_up_months()
    assert len(follow_up) == 18
    assert round(follow_up.median()) == published["long_term"]["median_follow_up_months"]
    assert abs(follow_up.median() - published["long_term"]["median_follow_up_months"]) <= 0.05


def test_long_term_follow_up_range_months(published: dict) -> None:
    follow_up = observed_follow_up_months()
    low, high = published["long_term"]["follow_up_range_months"]
    # integer months: rounding and truncation agree (fraction < 0.5)
    assert (round(follow_up.min()), math.floor(follow_up.min())) == (low, low)
    assert (round(follow_up.max()), math.floor(follow_up.max())) == (high, high)


def test_long_term_deaths(published: dict) -> None:
    deaths = events("DEATH")
    expected = published["long_term"]["deaths"]
    assert len(deaths) == len(expected)
    severity = baseline_severity()
    death_months = months_from_day1(deaths)
    for item in expected:
        match = deaths[
            (deaths["arm_id"] == item["arm"])
            & (death_months.round() == item["month"])
            & (death_months.apply(math.floor) == item["month"])
            & deaths["death_cause"].str.lower().str.contains(item["cause"].lower(), regex=False)
        ]
        assert len(match) == 1, item
        assert severity[match["subject_id"].iloc[0]] == item["severity"].upper()


def test_long_term_death_is_last_event() -> None:
    ev = typed("outcome_events")
    for death in events("DEATH").itertuples():
        others = ev[(ev["subject_id"] == death.subject_id) & (ev["event_type"] != "DEATH")]
        assert (others["event_date"] < death.event_date).all()
        for table, column in (
            ("labs", "lab_date"), ("transfusions", "transfusion_date"),
            ("exposures", "end_date"), ("response_assessments", "assessment_date"),
            ("adverse_events", "end_date"), ("tcell_subsets", "sample_date"),
        ):  # fmt: skip
            frame = typed(table)
            dates = frame.loc[frame["subject_id"] == death.subject_id, column].dropna()
            assert (dates <= death.event_date).all(), table


@pytest.mark.parametrize("arm", ["MSC", "CONTROL"])
def test_long_term_treatment_failure_then_hsct(published: dict, arm: str) -> None:
    hsct = events("HSCT")
    hsct = hsct[hsct["arm_id"] == arm]
    assert hsct["subject_id"].nunique() == published["long_term"]["treatment_failure_then_hsct"][
        arm
    ]
    # 'due to lack of response to IST': NR at day 90, and no salvage IST recorded instead
    d90 = recorded_responses("D90").set_index("subject_id")["response"]
    assert (d90[hsct["subject_id"]] == "NR").all()
    assert events("SALVAGE_IST").empty


def test_long_term_msc_hsct_months_range(published: dict) -> None:
    hsct = events("HSCT")
    hsct = hsct[hsct["arm_id"] == "MSC"]
    month = months_from_day1(hsct)
    low, high = published["long_term"]["msc_hsct_months_range"]
    assert (month.round() == month.apply(math.floor)).all()
    assert (month.round().min(), month.round().max()) == (low, high)
    assert month.round().is_unique  # four distinct months in 7..10


def test_long_term_hsct_donors(published: dict) -> None:
    donors = events("HSCT")["donor_type"].value_counts().to_dict()
    expected = published["long_term"]["hsct_donors"]
    assert donors == {"HAPLO": expected["haploidentical"], "MUD": expected["matched_unrelated"]}


def test_long_term_hsct_patients_alive_at_cutoff() -> None:
    hsct = set(events("HSCT")["subject_id"])
    assert hsct <= set(events("LAST_CONTACT")["subject_id"])
    assert not hsct & set(events("DEATH")["subject_id"])


def test_long_term_day90_responders_alive_without_hsct() -> None:
    """'Three responders ... were all alive at follow-up without transplantation'."""
    d90 = recorded_responses("D90")
    responders = set(d90.loc[d90["response"] == "PR", "subject_id"])
    assert len(responders) == 3
    assert responders <= set(events("LAST_CONTACT")["subject_id"])
    assert not responders & set(events("HSCT")["subject_id"])


GVHD_WORDS = {"gut": "GUT", "skin": "SKIN", "eye": "EYE", "joint": "JOINT", "liver": "LIVER"}


def parse_gvhd(text: str) -> tuple[dict[str, int], set[str]]:
    """Organs and grades of the published GVHD sentence, e.g. 'grade 3 gut aGVHD, ...'."""
    acute: dict[str, int] = {}
    for grade, organs in re.findall(r"grade (\d) ([a-z ]+?) aGVHD", text):
        for word in organs.split(" and "):
            acute[GVHD_WORDS[word.strip()]] = int(grade)
    chronic_match = re.search(r"then ([a-z ]+?) cGVHD", text)
    assert chronic_match, text
    chronic = {GVHD_WORDS[w.strip()] for w in chronic_match.group(1).split(" and ")}
    return acute, chronic


def test_long_term_gvhd(published: dict) -> None:
    acute, chronic = parse_gvhd(published["long_term"]["gvhd"])
    assert acute and chronic
    ag, cg = events("AGVHD"), events("CGVHD")
    patients = set(ag["subject_id"]) | set(cg["subject_id"])
    assert len(patients) == 1
    (patient,) = patients
    assert subjects().loc[patient, "arm_id"] == "MSC"
    assert patient in set(events("HSCT")["subject_id"])
    assert dict(zip(ag["gvhd_organ"], ag["gvhd_grade"], strict=True)) == acute
    assert set(cg["gvhd_organ"]) == chronic
    hsct_date = events("HSCT").set_index("subject_id").loc[patient, "event_date"]
    assert (pd.concat([ag, cg])["event_date"] > hsct_date).all()


def test_long_term_clonal_evolution(published: dict) -> None:
    n = events("CLONAL_EVOLUTION")["subject_id"].nunique()
    abnormal = (raw("marrow_exams")["cytogenetics"] == "ABNORMAL").sum()
    assert n == published["long_term"]["clonal_evolution"]
    assert abnormal == published["long_term"]["clonal_evolution"]


def test_long_term_relapse(published: dict) -> None:
    assert events("RELAPSE")["subject_id"].nunique() == published["long_term"]["relapse"]
    # no response falls back to NR after a PR (D16 would call that a relapse)
    r = typed("response_assessments").sort_values(["subject_id", "assessment_date"])
    for _, group in r.groupby("subject_id"):
        seen_pr = False
        for response in group["response"]:
            assert not (seen_pr and response == "NR")
            seen_pr = seen_pr or response in ("PR", "CR")


def test_lost_to_follow_up_patient_censors_msc_ffs_before_failures() -> None:
    """TRIAL.md 5: one MSC patient censored after the month-5 death, before the HSCTs."""
    lost = events("LOST_TO_FOLLOW_UP")
    assert list(lost["arm_id"]) == ["MSC"]
    lost_month = months_from_day1(lost).iloc[0]
    msc_deaths = events("DEATH").query("arm_id == 'MSC'")
    msc_hsct = events("HSCT").query("arm_id == 'MSC'")
    assert months_from_day1(msc_deaths).max() < lost_month < months_from_day1(msc_hsct).min()
    assert round(lost_month) == 6
    d90 = recorded_responses("D90").set_index("subject_id")["response"]
    assert d90[lost["subject_id"].iloc[0]] == "NR"


# ---------------------------------------------------------------------------
# Regimen, T cells, dates
# ---------------------------------------------------------------------------
def test_exposures_follow_the_regimen() -> None:
    """Doses within 10 % of weight x protocol dose; rATG days 1-5; UC-MSC days 14/21/28 +/- 2."""
    drugs = protocol()["drugs"]
    ex = typed("exposures")
    ex = ex.join(subjects()[["weight_kg", "arm_id"]].rename(columns={"weight_kg": "w"}),
                 on="subject_id")  # fmt: skip
    per_kg = ex["drug"].map(
        {"RATG": drugs["RATG"]["dose_per_kg"], "CSA": drugs["CSA"]["dose_per_kg"], "UCMSC": 1e6}
    )
    assert ((ex["dose"] - per_kg * ex["weight_kg"]).abs() <= 0.10 * per_kg * ex["weight_kg"]).all()
    assert (ex["weight_kg"] == ex["w"]).all()
    study_day = (ex["start_date"] - ex["subject_id"].map(day1())).dt.days + 1
    ratg = ex["drug"] == "RATG"
    assert (study_day[ratg] == 1).all()
    assert ((ex.loc[ratg, "end_date"] - ex.loc[ratg, "start_date"]).dt.days == 4).all()
    ucmsc = ex[ex["drug"] == "UCMSC"]
    assert set(ucmsc["subject_id"]) == set(arm_ids("MSC"))
    for _, group in ucmsc.groupby("subject_id"):
        days = sorted(study_day[group.index])
        assert all(abs(d - t) <= 2 for d, t in zip(days, (14, 21, 28), strict=True))
    assert set(ex.loc[ex["drug"] == "CSA", "subject_id"]) == set(subjects().index)


def test_nothing_before_consent_except_screening_tables() -> None:
    consent = subjects()["consent_date"]
    for table, spec in dictionary()["tables"].items():
        if spec.get("pre_consent_allowed") or "subject_id" not in spec["fields"]:
            continue
        if table == "provenance":
            continue
        frame = typed(table)
        for column in spec.get("date_fields", []):
            dates = frame[column]
            before = dates.notna() & (dates < frame["subject_id"].map(consent))
            assert not before.any(), (table, column)


@pytest.mark.parametrize(
    ("column", "msc_direction", "control_direction"),
    [("cd3cd4_pct", -1, -1), ("cd3cd8_pct", 1, 1), ("treg_pct_of_cd4", 1, -1)],
)
def test_tcell_directions_as_published(
    column: str, msc_direction: int, control_direction: int
) -> None:
    """Results: CD4 % falls in both, CD8 % rises in both, Tregs fall in controls, rise with MSC."""
    t = typed("tcell_subsets").sort_values(["subject_id", "sample_date"])
    change = t.groupby("subject_id")[column].agg(lambda v: v.iloc[-1] - v.iloc[0])
    assert (t.groupby("subject_id").size() == 2).all()
    for arm, direction in (("MSC", msc_direction), ("CONTROL", control_direction)):
        assert math.copysign(1, change[arm_ids(arm)].mean()) == direction


# ---------------------------------------------------------------------------
# Dictionary conformance (plain pandas against the YAML) and canonical format
# ---------------------------------------------------------------------------
TABLES = list(yaml.safe_load(DICTIONARY_YAML.read_text(encoding="utf-8"))["tables"])


@pytest.mark.parametrize("table", TABLES)
def test_table_conforms_to_dictionary(table: str) -> None:
    spec = dictionary()["tables"][table]
    frame = raw(table)
    assert list(frame.columns) == list(spec["fields"]), "all fields, dictionary order"
    problems = []
    for name, field in spec["fields"].items():
        column = frame[name]
        if field.get("required"):
            problems += [(name, "required", i) for i in column.index[column.isna()]]
        present = column.dropna()
        kind = field["type"]
        if kind == "date":
            parsed = pd.to_datetime(present, format="%Y-%m-%d", errors="coerce")
            problems += [(name, "date", v) for v in present[parsed.isna()]]
        elif kind in ("integer", "number"):
            numbers = pd.to_numeric(present, errors="coerce")
            problems += [(name, kind, v) for v in present[numbers.isna()]]
            if kind == "integer":
                not_int = present[~present.str.fullmatch(r"-?\d+")]
                problems += [(name, "integer", v) for v in not_int]
            else:  # canonical number format
                problems += [
                    (name, ".10g", v) for v in present if format(float(v), ".10g") != v
                ]
            if "hard_range" in field:
                # float(): PyYAML reads '1.0e12' (no sign in the exponent) as a string
                low, high = (float(v) for v in field["hard_range"])
                problems += [(name, "hard_range", v) for v in present[~numbers.between(low, high)]]
        elif kind == "boolean":
            problems += [(name, "boolean", v) for v in present[~present.isin(["Y", "N"])]]
        if "codes" in field:
            problems += [(name, "codes", v) for v in present[~present.isin(list(field["codes"]))]]
        if field.get("codes_from") == "lab_tests":
            problems += [
                (name, "codes", v) for v in present[~present.isin(list(dictionary()["lab_tests"]))]
            ]
        if "references" in field:
            ref_table, ref_field = field["references"].split(".")
            allowed = set(raw(ref_table)[ref_field])
            problems += [(name, "references", v) for v in present[~present.isin(allowed)]]
    assert not problems
    key = frame[spec["key"]].fillna("")
    assert not key.duplicated().any(), "key unique"
    as_tuples = [tuple(row) for row in key.itertuples(index=False)]
    assert as_tuples == sorted(as_tuples), "rows sorted by key"


def test_labs_units_and_ranges_per_test() -> None:
    labs = raw("labs")
    for test, spec in dictionary()["lab_tests"].items():
        rows = labs[labs["test"] == test]
        assert (rows["unit"] == spec["unit"]).all(), test
        low, high = spec["hard_range"]
        assert pd.to_numeric(rows["value"]).between(low, high).all(), test


@pytest.mark.parametrize("path", sorted(BUNDLED.glob("*.csv")), ids=lambda p: p.name)
def test_csv_files_are_canonical_bytes(path: Path) -> None:
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf"), "no BOM"
    assert b"\r" not in data and data.endswith(b"\n")
    data.decode("utf-8")


def test_folder_holds_one_csv_per_table_and_provenance_md() -> None:
    names = {p.name for p in BUNDLED.iterdir()}
    assert names == {f"{t}.csv" for t in TABLES} | {"PROVENANCE.md"}


def test_provenance_covers_every_table() -> None:
    prov = raw("provenance")
    for table, spec in dictionary()["tables"].items():
        fields = set(prov.loc[prov["table_name"] == table, "field_name"])
        assert "*" in fields or set(spec["fields"]) <= fields, table
    assert set(prov["field_name"]) - {"*"} <= {
        f for spec in dictionary()["tables"].values() for f in spec["fields"]
    }
    subject_rows = prov["subject_id"].dropna()
    assert set(subject_rows) <= set(subjects().index)



# ---------------------------------------------------------------------------
# repeated_measures_anova_p (TRIAL.md 7): arm between, time within, arm x time
# ---------------------------------------------------------------------------
ANOVA_LABS = {"PLT": "PLT", "ANC": "ANC", "HGB": "HGB", "ARC": "ARC"}
ANOVA_TCELLS = {
    "CD3CD4_pct": "cd3cd4_pct", "CD3CD8_pct": "cd3cd8_pct", "TREG_pct": "treg_pct_of_cd4",
}  # fmt: skip


def anova_wide(name: str) -> pd.DataFrame:
    """Subjects x time points (baseline, day 40[, day 90]) for one ANOVA variable."""
    if name in ANOVA_LABS:
        test = ANOVA_LABS[name]
        labs = typed("labs")
        labs = labs[labs["test"] == test].set_index(["subject_id", "lab_date"])["value"]
        visits = typed("response_assessments").pivot(
            index="subject_id", columns="visit", values="assessment_date"
        )
        wide = pd.DataFrame(
            {
                "BL": baseline_lab(test),
                "D40": [labs[(sid, visits.loc[sid, "D40"])] for sid in visits.index],
                "D90": [labs[(sid, visits.loc[sid, "D90"])] for sid in visits.index],
            }
        )
    else:
        t = typed("tcell_subsets").sort_values(["subject_id", "sample_date"])
        wide = t.groupby("subject_id")[ANOVA_TCELLS[name]].agg(list).apply(pd.Series)
        wide.columns = ["BL", "D40"]
        assert (t.groupby("subject_id")["sample_date"].first() <= day1()).all()
    return wide.dropna()


def split_plot_interaction_p(wide: pd.DataFrame, groups: pd.Series) -> float:
    """Group x time F test of a split-plot ANOVA (sphericity assumed), e.g. SPSS GLM."""
    from scipy import stats

    y = wide.to_numpy(float)
    g = groups[wide.index].to_numpy()
    n, k = y.shape
    grand, time_means = y.mean(), y.mean(axis=0)
    ss_total = ((y - grand) ** 2).sum()
    ss_subjects = k * ((y.mean(axis=1) - grand) ** 2).sum()
    ss_time = n * ((time_means - grand) ** 2).sum()
    ss_interaction = sum(
        (g == level).sum()
        * ((y[g == level].mean(axis=0) - y[g == level].mean() - time_means + grand) ** 2).sum()
        for level in set(g)
    )
    ss_error = ss_total - ss_subjects - ss_time - ss_interaction
    df1, df2 = (len(set(g)) - 1) * (k - 1), (n - len(set(g))) * (k - 1)
    return float(stats.f.sf((ss_interaction / df1) / (ss_error / df2), df1, df2))


@pytest.mark.parametrize("name", [*ANOVA_LABS, *ANOVA_TCELLS])
def test_repeated_measures_anova_p(published: dict, name: str) -> None:
    wide = anova_wide(name)
    assert len(wide) == 18
    p = split_plot_interaction_p(wide, subjects()["arm_id"])
    assert round(p, 3) == published["repeated_measures_anova_p"][name]


def test_split_plot_anova_matches_statsmodels_ols() -> None:
    """Independent check of the F test: OLS nested-model F test with subject effects."""
    smf = pytest.importorskip("statsmodels.formula.api")
    for name in ("PLT", "TREG_pct"):
        wide = anova_wide(name)
        long = wide.stack().rename("y").reset_index()
        long.columns = ["sid", "time", "y"]
        msc = (long["sid"].map(subjects()["arm_id"]) == "MSC").astype(float)
        # arm x time: the MSC indicator times each non-baseline time point
        terms = []
        for time in wide.columns[1:]:
            long[f"msc_{time}"] = msc * (long["time"] == time)
            terms.append(f"msc_{time}")
        reduced = smf.ols("y ~ C(sid) + C(time)", data=long).fit()
        full = smf.ols("y ~ C(sid) + C(time) + " + " + ".join(terms), data=long).fit()
        _, theirs, df_diff = full.compare_f_test(reduced)
        assert df_diff == wide.shape[1] - 1
        ours = split_plot_interaction_p(wide, subjects()["arm_id"])
        assert ours == pytest.approx(theirs, rel=1e-9), name


def test_msc_platelets_rise_more_than_control() -> None:
    """Results: 'The increase of PLT levels in MSC group was higher than that in the controls'."""
    wide = anova_wide("PLT")
    rise = (wide["D90"] - wide["BL"]).groupby(subjects()["arm_id"]).mean()
    assert rise["MSC"] > rise["CONTROL"]


# Published facts this file checks, by section; a new fact in the YAML fails here until
# a test is written for it (KM figures and the log-rank p: test_bundled_km.py).
COVERED = {
    "study": {"registry_id", "enrollment_window", "follow_up_cutoff", "arms"},
    "baseline_msc": {
        "age_median", "age_range", "male", "female", "vsaa", "days_diagnosis_to_atg_median",
        "days_diagnosis_to_atg_range", "anc_median", "anc_range", "plt_median", "plt_range",
        "hgb_median", "hgb_range", "arc_median", "arc_range", "msc_doses_completed",
    },
    "baseline_control": {"anc_median", "note"},
    "safety": {
        "msc_anaphylaxis_any", "msc_anaphylaxis_grade_1_2", "msc_anaphylaxis_grade_3",
        "msc_oral_mucositis_grade_2", "severe_infection_grade_ge3", "ctcae_version",
    },
    "response_day90": {"MSC", "CONTROL"},
    "repeated_measures_anova_p": {*ANOVA_LABS, *ANOVA_TCELLS},
    "long_term": {
        "median_follow_up_months", "follow_up_range_months", "deaths",
        "treatment_failure_then_hsct", "msc_hsct_months_range", "hsct_donors", "gvhd",
        "clonal_evolution", "relapse", "os_4y", "ffs_4y", "ffs_logrank_p",
    },
    "tolerances": {"km_estimate", "km_se", "p_value", "medians_and_ranges", "counts"},
}  # fmt: skip


def test_every_published_fact_has_a_test(published: dict) -> None:
    assert set(published) == set(COVERED)
    for section, keys in COVERED.items():
        assert set(published[section]) == keys, section
