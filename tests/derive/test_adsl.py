"""ADSL derivation rules on hand-made subjects (expected values worked by hand).

Study day 1 (TRTSDT) = 1 Jan 2014 = first rATG dose (D7) unless said otherwise.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from saatrial.derive import derive_all

from ._builder import DAY1, sd


def adsl_of(builder) -> pd.DataFrame:
    return derive_all(builder.build()).adsl.set_index("SUBJID")


def eligible_subject(builder, sid: str, **kw) -> None:
    """A vSAA child with normal organ function: eligible unless ``kw`` changes that."""
    builder.subject(sid, **kw)
    builder.counts(sid, sd(-1), anc=0.1, plt=10, hgb=70, arc=5)  # vSAA, pre-transfusion
    builder.lab(sid, sd(-5), "ALT", 20, uln=40)
    builder.lab(sid, sd(-5), "AST", 30, uln=50)
    builder.lab(sid, sd(-5), "CREAT", 30, uln=50)


# ----------------------------------------------------------------------------- age, dates
@pytest.mark.parametrize(
    ("diagnosis", "age", "days"),
    [
        ("2013-11-30", 3, 32),  # the day before the 4th birthday (born 2009-12-01)
        ("2013-12-01", 4, 31),  # the 4th birthday itself
    ],
)
def test_age_in_completed_years_at_diagnosis(builder, diagnosis, age, days):
    builder.subject("S1", birth="2009-12-01", diagnosis=diagnosis)
    row = adsl_of(builder).loc["S1"]
    assert row["AGE"] == age and row["AGEU"] == "YEARS"
    assert row["DIAG2TRT"] == days  # 1 Jan 2014 - diagnosis date
    assert row["TRTSDT"] == pd.Timestamp(DAY1)
    assert row["TRTEDT"] == pd.Timestamp(sd(365))  # CsA to day 365 is the last exposure


def test_baseline_is_last_value_on_or_before_trtsdt(builder):
    builder.subject("S1").subject("S2")
    builder.lab("S1", sd(-10), "ANC", 0.3).lab("S1", sd(1), "ANC", 0.15)
    builder.lab("S1", sd(2), "ANC", 0.5)
    builder.lab("S2", sd(-3), "ANC", 0.4).lab("S2", sd(2), "ANC", 0.6)
    adsl = adsl_of(builder)
    assert adsl.loc["S1", "BANC"] == 0.15  # a value on day 1 itself is baseline
    assert adsl.loc["S2", "BANC"] == 0.4  # the day-2 value is after treatment start
    assert pd.isna(adsl.loc["S1", "BPLT"])


# ----------------------------------------------------------------------------- severity, D2
@pytest.mark.parametrize(
    ("tx_day", "flag", "expected"),
    [
        # PLT 15 on day -1; a PLT transfusion 3 days before it (day -4) makes it unusable
        # (D2); with ANC 0.6 not met and ARC 10 met, severity cannot be decided
        (-4, None, "NOT_ASSESSABLE"),
        # 4 days before (day -5): PLT counts -> PLT and ARC met -> SAA (ANC 0.6 >= 0.2)
        (-5, None, "SAA"),
        # flagged pre-transfusion: counts whatever the transfusion dates
        (-4, "Y", "SAA"),
        # flagged post-transfusion: never counts
        (-30, "N", "NOT_ASSESSABLE"),
    ],
)
def test_baseline_severity_applies_d2(builder, tx_day, flag, expected):
    builder.subject("S1", cellularity_pct=10)
    builder.lab("S1", sd(-1), "ANC", 0.6, pre="Y")
    builder.lab("S1", sd(-1), "PLT", 15, pre=flag)
    builder.lab("S1", sd(-1), "ARC", 10, pre="Y")
    builder.tx("S1", sd(tx_day), "PLT")
    ds = derive_all(builder.build())
    row = ds.adsl.set_index("SUBJID").loc["S1"]
    assert row["SEVBL"] == expected
    if expected == "NOT_ASSESSABLE":
        assert "pre-transfusion PLT" in row["SEVBLRSN"]
        assert any("severity not assessable" in n.message for n in ds.notes)


def test_vsaa_needs_anc_below_0_2(builder):
    builder.subject("S1").subject("S2")
    builder.counts("S1", sd(-1), anc=0.19, plt=10, hgb=70, arc=5)
    builder.counts("S2", sd(-1), anc=0.2, plt=10, hgb=70, arc=5)  # D1: strict <
    adsl = adsl_of(builder)
    assert adsl.loc["S1", "SEVBL"] == "VSAA"
    assert adsl.loc["S2", "SEVBL"] == "SAA"


# ----------------------------------------------------------------------------- eligibility
def test_eligible_child(builder):
    eligible_subject(builder, "S1")
    row = adsl_of(builder).loc["S1"]
    assert row["ELIGFL"] == "Y" and pd.isna(row["ELIGFAIL"])


def test_sibling_donor_fails_with_reason(builder):
    eligible_subject(builder, "S1", screening={"hla_matched_sibling": "Y"})
    row = adsl_of(builder).loc["S1"]
    assert row["ELIGFL"] == "N"
    assert row["ELIGFAIL"] == (
        "hla_matched_sibling: HLA-matched sibling donor available for HSCT: excluded"
    )


@pytest.mark.parametrize(("days", "eligible"), [(180, "Y"), (181, "N")])
def test_newly_diagnosed_180_days_d6(builder, days, eligible):
    diagnosis = (DAY1 - timedelta(days=days)).isoformat()
    eligible_subject(builder, "S1", diagnosis=diagnosis)
    row = adsl_of(builder).loc["S1"]
    assert row["DIAG2TRT"] == days
    assert row["ELIGFL"] == eligible
    if eligible == "N":
        assert row["ELIGFAIL"] == (
            "newly_diagnosed: 181 days from diagnosis to first rATG > 180 (D6)"
        )


# ----------------------------------------------------------------------------- exposure
def test_msc_doses_and_actual_treatment(builder):
    builder.subject("S1", "MSC", msc_days=(14, 21))
    builder.subject("S2", "MSC")  # allocated to MSC, never given UC-MSC
    builder.subject("S3", "CONTROL")
    adsl = adsl_of(builder)
    assert adsl.loc["S1", ["MSCDOSN", "MSCDOSPL"]].tolist() == [2, 3]
    assert adsl.loc["S1", "TRT01A"] == "UC-MSC + IST"
    assert adsl.loc["S2", ["MSCDOSN", "MSCDOSPL"]].tolist() == [0, 3]
    assert adsl.loc["S2", "TRT01P"] == "UC-MSC + IST"
    assert adsl.loc["S2", "TRT01A"] == "IST alone"
    assert adsl.loc["S3", ["MSCDOSN", "MSCDOSPL"]].tolist() == [0, 0]
    assert (adsl["SAFFL"] == "Y").all() and (adsl["ITTFL"] == "Y").all()


def test_subject_without_ratg(builder):
    builder.subject("S1", day1=None)  # CsA only: treated, but no study day 1
    builder.subject("S2", day1=None, csa=False)  # nothing given
    ds = derive_all(builder.build())
    adsl = ds.adsl.set_index("SUBJID")
    assert adsl["TRTSDT"].isna().all() and adsl["DIAG2TRT"].isna().all()
    assert adsl.loc["S1", "SAFFL"] == "Y" and pd.isna(adsl.loc["S1", "TRT01A"])
    assert adsl.loc["S2", "SAFFL"] == "N"
    assert adsl["ELIGFL"].isna().all()
    assert adsl.loc["S1", "ELIGFAIL"] == "not assessable: no first rATG dose (TRTSDT, D7)"
    messages = [str(n) for n in ds.notes]
    assert any(m.startswith("ADSL: S1: no rATG exposure") for m in messages)
    assert any(
        m.startswith("ADSL: S1: drugs received ['CSA'] match no protocol arm") for m in messages
    )


# ----------------------------------------------------------------------------- outcomes
def test_death_and_last_known_alive(builder):
    builder.subject("S1")
    builder.lab("S1", sd(90), "ANC", 0.2)
    builder.ae("S1", "AE01", "Sepsis", 5, sd(95))  # ends day 97
    builder.event("S1", "DEATH", sd(100), death_cause="sepsis")
    row = adsl_of(builder).loc["S1"]
    assert row["DTHFL"] == "Y" and row["DTHDT"] == pd.Timestamp(sd(100))
    assert row["DTHCAUS"] == "sepsis"
    assert row["OSCNSR"] == 0 and row["FFSCNSR"] == 0
    assert row["OSMO"] == pytest.approx(99 / 30.4375)  # day 100 is 99 days after day 1
    assert row["LSTALVDT"] == pd.Timestamp(sd(97))  # the AE end, the last record
    assert row["FFSEVDSC"] == "death (sepsis)"


def test_hsct_and_censoring(builder):
    builder.subject("S1")
    builder.event("S1", "HSCT", sd(200), donor_type="HAPLO", stem_cell_source="BM_PBSC")
    builder.event("S1", "LAST_CONTACT", pd.Timestamp("2015-06-30").date())
    row = adsl_of(builder).loc["S1"]
    assert row[["HSCTFL", "HSCTDON", "HSCTSRC"]].tolist() == ["Y", "HAPLO", "BM_PBSC"]
    assert row["HSCTDT"] == pd.Timestamp(sd(200))
    assert row["DTHFL"] == "N" and pd.isna(row["DTHDT"])
    assert row["OSCNSR"] == 1 and row["FFSCNSR"] == 0
    assert row["FFSMO"] == pytest.approx(199 / 30.4375)
    assert row["FFSEVDSC"] == "treatment failure: HSCT (salvage start, D15)"
    assert row["LSTALVDT"] == pd.Timestamp("2015-06-30")
    assert row["FUMO"] == row["OSMO"]
