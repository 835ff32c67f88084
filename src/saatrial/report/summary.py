"""Per-arm summary of a study: counts, medians, ranges and outcome events.

This is the quick look that ``saatrial demo`` prints before the full report
exists, and a sanity panel in the report afterwards. Plain pandas; no
statistics beyond medians and ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from saatrial.study import StudyData

BASELINE_TESTS = ("ANC", "PLT", "HGB", "ARC")


@dataclass(frozen=True)
class MedianRange:
    """Median and range of a variable in one arm."""

    n: int
    median: float
    minimum: float
    maximum: float

    def format(self, digits: int = 2) -> str:
        if self.n == 0:
            return "–"

        def f(x: float) -> str:
            return f"{x:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{x:.0f}"

        return f"{f(self.median)} ({f(self.minimum)}–{f(self.maximum)})"


@dataclass(frozen=True)
class ArmSummary:
    """Summary of one arm."""

    arm_id: str
    label: str
    n_subjects: int
    n_male: int
    n_female: int
    age_years: MedianRange
    days_diagnosis_to_atg: MedianRange
    baseline: dict[str, MedianRange]
    day90_response: dict[str, int]
    events: dict[str, int]


def _median_range(values: pd.Series) -> MedianRange:
    v = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    if v.empty:
        return MedianRange(0, float("nan"), float("nan"), float("nan"))
    return MedianRange(int(v.size), float(v.median()), float(v.min()), float(v.max()))


def _completed_years(birth: pd.Timestamp, on: pd.Timestamp) -> int:
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def first_atg_dates(study: StudyData) -> pd.Series:
    """Study day 1 per subject: the first rATG administration (D7)."""
    ex = study["exposures"]
    ratg = ex[ex["drug"] == "RATG"]
    return ratg.groupby("subject_id")["start_date"].min()


def summarize_arms(study: StudyData) -> list[ArmSummary]:
    """Summarise each arm of a study.

    Baseline counts are the last value on or before study day 1 (D7).
    """
    subjects = study["subjects"]
    arms = study["arms"].set_index("arm_id")
    day1 = first_atg_dates(study)
    labs = study["labs"].merge(day1.rename("day1"), left_on="subject_id", right_index=True)
    labs = labs[labs["lab_date"] <= labs["day1"]].sort_values(["subject_id", "test", "lab_date"])
    baseline = labs.groupby(["subject_id", "test"])["value"].last().unstack()
    responses = study["response_assessments"]
    d90 = responses[responses["visit"] == "D90"]
    events = study["outcome_events"]

    out: list[ArmSummary] = []
    for arm_id in arms.index:
        arm_subjects = subjects[subjects["arm_id"] == arm_id]
        ids = list(arm_subjects["subject_id"])
        ages = [
            _completed_years(row.birth_date, row.diagnosis_date)
            for row in arm_subjects.itertuples()
        ]
        gap = (day1.reindex(ids) - arm_subjects.set_index("subject_id")["diagnosis_date"]).dt.days
        base = baseline.reindex(ids)
        arm_events = events[events["subject_id"].isin(ids)]
        per_type = arm_events.drop_duplicates(["subject_id", "event_type"])["event_type"]
        out.append(
            ArmSummary(
                arm_id=str(arm_id),
                label=str(arms.loc[arm_id, "label"]),
                n_subjects=len(ids),
                n_male=int((arm_subjects["sex"] == "M").sum()),
                n_female=int((arm_subjects["sex"] == "F").sum()),
                age_years=_median_range(pd.Series(ages, dtype=float)),
                days_diagnosis_to_atg=_median_range(gap),
                baseline={
                    t: _median_range(base[t] if t in base else pd.Series(dtype=float))
                    for t in BASELINE_TESTS
                },
                day90_response={
                    k: int((d90[d90["subject_id"].isin(ids)]["response"] == k).sum())
                    for k in ("CR", "PR", "NR")
                },
                events={
                    k: int((per_type == k).sum())
                    for k in ("DEATH", "HSCT", "LOST_TO_FOLLOW_UP", "RELAPSE", "CLONAL_EVOLUTION")
                },
            )
        )
    return out
