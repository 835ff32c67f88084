"""Shared inputs of the R1 report tests (analysis, tables, reproduction, methods).

The bundled study and its analysis are computed once per test session;
the incomplete studies of issue 5 ("missing visits, an arm with no events,
a single arm") are the bundled study with rows dropped, never edited files.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import pandas as pd
import yaml

from saatrial.derive import AnalysisDatasets, derive_all
from saatrial.protocol import Protocol, load_protocol
from saatrial.report.analysis import Analysis, analyze
from saatrial.study import StudyData, load_bundled_study


@cache
def protocol() -> Protocol:
    return load_protocol("nct02218437")


@cache
def published() -> dict[str, Any]:
    """The package copy of published_results.yaml."""
    text = resources.files("saatrial.report").joinpath("published/nct02218437.yaml")
    return yaml.safe_load(text.read_text(encoding="utf-8"))


@cache
def bundled_study() -> StudyData:
    return load_bundled_study()


@cache
def bundled() -> tuple[AnalysisDatasets, Analysis]:
    study = bundled_study()
    ads = derive_all(study, protocol())
    return ads, analyze(ads, protocol(), study=study)


def variant(base: StudyData, /, **frames: pd.DataFrame) -> StudyData:
    """A copy of ``base`` with some tables replaced (keyword = table name)."""
    tables = {name: df.copy() for name, df in base.tables.items()}
    tables.update(frames)
    return StudyData(tables, base.dictionary, "variant")


def only_subjects(study: StudyData, keep: set[str]) -> StudyData:
    frames = {name: df[df["subject_id"].isin(keep)] for name, df in study.tables.items()
              if "subject_id" in df}
    return variant(study, **frames)


def analysed(study: StudyData) -> tuple[AnalysisDatasets, Analysis]:
    ads = derive_all(study, protocol())
    return ads, analyze(ads, protocol(), study=study)


def study_day(study: StudyData, table: str, date_column: str) -> pd.Series:
    """Study day (day 1 = first rATG, D7) of each row of a table."""
    ex = study["exposures"]
    day1 = ex[ex["drug"] == "RATG"].groupby("subject_id")["start_date"].min()
    frame = study[table]
    return (frame[date_column] - frame["subject_id"].map(day1)).dt.days + 1


@cache
def single_arm() -> tuple[AnalysisDatasets, Analysis]:
    """Only the nine MSC patients."""
    base = bundled_study()
    return analysed(only_subjects(base, {s for s in base.subject_ids if s.startswith("MSC")}))


@cache
def control_without_events() -> tuple[AnalysisDatasets, Analysis]:
    """No death and no HSCT in the control arm: no OS or FFS event there."""
    base = bundled_study()
    ev = base["outcome_events"]
    drop = ev["subject_id"].str.startswith("CTL") & ev["event_type"].isin(["DEATH", "HSCT"])
    return analysed(variant(base, outcome_events=ev[~drop]))


@cache
def without_day90_labs() -> tuple[AnalysisDatasets, Analysis]:
    """Every laboratory value of the day-90 window (days 76-104, D9) dropped."""
    base = bundled_study()
    day = study_day(base, "labs", "lab_date")
    return analysed(variant(base, labs=base["labs"][(day < 76) | (day > 104)]))


#: Patients whose day-40 blood counts are dropped in :func:`two_missing_day40`.
MISSING_D40 = ("MSC02", "CTL03")


@cache
def two_missing_day40() -> tuple[AnalysisDatasets, Analysis]:
    """Two patients (one per arm) without blood counts in the day-40 window (33-47)."""
    base = bundled_study()
    labs = base["labs"]
    day = study_day(base, "labs", "lab_date")
    drop = labs["subject_id"].isin(MISSING_D40) & day.between(33, 47)
    return analysed(variant(base, labs=labs[~drop]))


@cache
def short_msc_follow_up() -> tuple[AnalysisDatasets, Analysis]:
    """MSC patients' last contact moved to 2016-06-30: MSC follow-up ends before 48 months."""
    base = bundled_study()
    ev = base["outcome_events"].copy()
    last = (ev["event_type"] == "LAST_CONTACT") & ev["subject_id"].str.startswith("MSC")
    ev.loc[last, "event_date"] = pd.Timestamp("2016-06-30")
    return analysed(variant(base, outcome_events=ev))
