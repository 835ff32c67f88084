"""derive_all on incomplete studies: it derives what it can and says what it could not.

Issue 5 "Done when": the report must still work on a study with missing
visits, an arm with no events, or a single arm. Each case is the bundled
study with rows dropped, or an empty study.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from saatrial.derive import DATASETS, derive_all
from saatrial.study import StudyData


def variant(base: StudyData, /, **frames: pd.DataFrame) -> StudyData:
    """A copy of ``base`` with some tables replaced (keyword = table name)."""
    tables = {name: df.copy() for name, df in base.tables.items()}
    tables.update(frames)
    return StudyData(tables, base.dictionary, "variant")


def only_subjects(study: StudyData, keep) -> StudyData:
    tables = {}
    for name, df in study.tables.items():
        tables[name] = df[df["subject_id"].isin(keep)] if "subject_id" in df else df
    return variant(study, **tables)


def test_single_arm(bundled_study):
    ids = [s for s in bundled_study.subject_ids if s.startswith("MSC")]
    ds = derive_all(only_subjects(bundled_study, ids))
    assert set(ds.adsl["ARMCD"]) == {"MSC"} and len(ds.adsl) == 9
    assert Counter(ds.adtte["PARAMCD"]) == {"OS": 9, "FFS": 9}
    assert set(ds.adlb["ARMCD"]) == {"MSC"}


def test_arm_without_events(bundled_study):
    ev = bundled_study["outcome_events"]
    control_events = ev["subject_id"].str.startswith("CTL") & ev["event_type"].isin(
        ["DEATH", "HSCT"]
    )
    ds = derive_all(variant(bundled_study, outcome_events=ev[~control_events]))
    ctl = ds.adtte[ds.adtte["ARMCD"] == "CONTROL"]
    assert len(ctl) == 18 and (ctl["CNSR"] == 1).all()
    # CTL06 has no death any more and no last contact: censored at the cut-off
    ctl06 = ctl[(ctl["SUBJID"] == "CTL06") & (ctl["PARAMCD"] == "OS")].iloc[0]
    assert ctl06["ADT"] == pd.Timestamp("2018-04-13")


def test_missing_visits(bundled_study):
    """Drop every lab of the day-90 window: D90 becomes NE, nothing fails."""
    labs = bundled_study["labs"]
    day1 = (
        bundled_study["exposures"].query("drug == 'RATG'").groupby("subject_id")["start_date"].min()
    )
    study_day = (labs["lab_date"] - labs["subject_id"].map(day1)).dt.days + 1
    ds = derive_all(variant(bundled_study, labs=labs[(study_day < 76) | (study_day > 104)]))
    d90 = ds.adrs[(ds.adrs["PARAMCD"] == "RSP") & (ds.adrs["AVISIT"] == "D90")]
    assert set(d90["AVALC"]) == {"NE"}
    assert "D90" not in set(ds.adlb["AVISIT"].dropna())
    assert set(ds.adlb["AVISIT"].dropna()) == {"BASELINE", "D40", "D180"}
    mismatches = [n for n in ds.notes if n.dataset == "ADRS" and "D90: computed NE" in n.message]
    assert len(mismatches) == 18  # every recorded D90 response is now unsupported


def test_subject_without_ratg(bundled_study):
    ex = bundled_study["exposures"]
    drop = (ex["subject_id"] == "MSC01") & (ex["drug"] == "RATG")
    ds = derive_all(variant(bundled_study, exposures=ex[~drop]))
    adsl = ds.adsl.set_index("SUBJID")
    assert pd.isna(adsl.loc["MSC01", "TRTSDT"]) and pd.isna(adsl.loc["MSC01", "SEVBL"])
    assert "MSC01" not in set(ds.adtte["SUBJID"]) and len(ds.adtte) == 34
    lb = ds.adlb[ds.adlb["SUBJID"] == "MSC01"]
    assert len(lb) > 0 and lb["ADY"].isna().all() and lb["AVISIT"].isna().all()
    rs = ds.adrs[ds.adrs["SUBJID"] == "MSC01"]
    assert set(rs["AVALC"]) == {"NE"}
    ae = ds.adae[ds.adae["SUBJID"] == "MSC01"]
    assert ae["TRTEMFL"].isna().all()
    about = [str(n) for n in ds.notes if n.subject_id == "MSC01"]
    assert any("excluded from OS and FFS" in m for m in about)


def test_empty_clinical_tables(bundled_study):
    empty = {
        name: bundled_study[name].iloc[0:0]
        for name in (
            "labs",
            "transfusions",
            "tcell_subsets",
            "adverse_events",
            "outcome_events",
            "response_assessments",
            "marrow_exams",
            "screening",
        )
    }
    ds = derive_all(variant(bundled_study, **empty))
    assert len(ds.adsl) == 18
    assert ds.adlb.empty and ds.adae.empty
    assert (ds.adtte["CNSR"] == 1).all()
    assert (ds.adtte["ADT"] == pd.Timestamp("2018-04-13")).all()
    assert set(ds.adrs["AVALC"]) == {"NE"}
    assert set(ds.adsl["SEVBL"]) == {"NOT_ASSESSABLE"}
    assert ds.adsl["ELIGFL"].isna().all()


def test_empty_study():
    ds = derive_all(StudyData.empty())
    for name, frame in ds:
        assert frame.empty and list(frame.columns) == [c.name for c in DATASETS[name]]
    assert any("no data_cutoff_date" in n.message for n in ds.notes)
