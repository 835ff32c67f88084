"""Pieces the figure builders share: the result object, arms, repeated-measures summaries.

A builder computes its *facts* (the numbers it will print, as a frozen
dataclass) from the analysis datasets, draws them, and returns a
:class:`BuiltFigure`: the rendered :class:`~saatrial.report.model.ReportFigure`,
the facts (so tests and the report can check what was printed against the
data) and the notices (what could not be drawn, and why).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from saatrial.report.figures.style import DAYS_PER_MONTH, visit_label
from saatrial.report.model import Notice, ReportFigure

__all__ = [
    "ArmSeries",
    "BuiltFigure",
    "RepeatedFacts",
    "SubjectSeries",
    "VisitSummary",
    "arm_labels",
    "arm_sizes",
    "months_between",
    "repeated_facts",
    "unit_text",
]


@dataclass(frozen=True)
class BuiltFigure:
    """A rendered figure with the numbers it prints and what it could not show.

    Attributes
    ----------
    figure : ReportFigure
        PNG + SVG, title, caption, alt text.
    facts : Any
        The builder's facts dataclass (numbers as printed, computed from the data).
    notices : tuple of Notice
        What could not be drawn or computed, and why.
    """

    figure: ReportFigure
    facts: Any
    notices: tuple[Notice, ...] = ()


@dataclass(frozen=True)
class VisitSummary:
    """Mean ± SE of one parameter in one arm at one visit.

    Attributes
    ----------
    visit : str
        Visit code (ADaM ``AVISIT``: ``BASELINE``, ``D40``, ...).
    n : int
        Subjects with a value at the visit.
    mean : float
        Arithmetic mean (NaN when ``n == 0``).
    se : float
        Standard error of the mean, SD (ddof 1) / sqrt(n); NaN when ``n < 2``.
    """

    visit: str
    n: int
    mean: float
    se: float


@dataclass(frozen=True)
class SubjectSeries:
    """One patient's values at the visits (NaN where the visit is missing)."""

    subject_id: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class ArmSeries:
    """One arm of a repeated-measures panel.

    Attributes
    ----------
    arm, label : str
        Arm code and label.
    n_subjects : int
        Subjects of the arm (ADSL) - printed in the legend.
    visits : tuple of VisitSummary
        One per visit, in visit order.
    subjects : tuple of SubjectSeries
        Every subject of the arm with at least one value, sorted by id.
    """

    arm: str
    label: str
    n_subjects: int
    visits: tuple[VisitSummary, ...]
    subjects: tuple[SubjectSeries, ...]


@dataclass(frozen=True)
class RepeatedFacts:
    """What one repeated-measures panel prints (Figures 1 and 2).

    Attributes
    ----------
    paramcd : str
        ADLB parameter code.
    title : str
        Panel title (without the letter).
    axis_label : str
        Y-axis label with the unit.
    visits : tuple of str
        Visit codes on the x axis.
    pvalue : float or None
        Arm x time interaction p supplied by the caller (None: not supplied).
    arms : tuple of ArmSeries
    missing : tuple of str
        One sentence per arm and visit with fewer values than subjects.
    """

    paramcd: str
    title: str
    axis_label: str
    visits: tuple[str, ...]
    pvalue: float | None
    arms: tuple[ArmSeries, ...]
    missing: tuple[str, ...]

    @property
    def has_data(self) -> bool:
        """True when any arm has a value at any visit."""
        return any(v.n > 0 for a in self.arms for v in a.visits)


def arm_labels(*frames: pd.DataFrame) -> dict[str, str]:
    """Arm code -> label from the first frames that have ``ARMCD`` and ``ARM``/``TRTP``.

    Codes without a label are labelled by their code. Rows without an arm
    code are ignored.

    Examples
    --------
    >>> df = pd.DataFrame({"ARMCD": ["MSC", "CONTROL"], "ARM": ["UC-MSC + IST", None]})
    >>> arm_labels(df)
    {'CONTROL': 'CONTROL', 'MSC': 'UC-MSC + IST'}
    """
    labels: dict[str, str] = {}
    for frame in frames:
        if frame is None or "ARMCD" not in frame.columns:
            continue
        label_col = "ARM" if "ARM" in frame.columns else "TRTP" if "TRTP" in frame.columns else None
        for _, row in frame.iterrows():
            code = row["ARMCD"]
            if not isinstance(code, str) or not code:
                continue
            label = row[label_col] if label_col else None
            if isinstance(label, str) and label and labels.get(code, code) == code:
                labels[code] = label
            else:
                labels.setdefault(code, code)
    return dict(sorted(labels.items()))


def arm_sizes(adsl: pd.DataFrame | None, fallback: pd.DataFrame) -> dict[str, int]:
    """Subjects per arm code: from ADSL when given, else from ``fallback`` (e.g. ADLB).

    Examples
    --------
    >>> arm_sizes(pd.DataFrame({"ARMCD": ["A", "A", "B", None], "SUBJID": list("1234")}), None)
    {'A': 2, 'B': 1}
    """
    source = adsl if adsl is not None and "ARMCD" in adsl.columns else fallback
    counts = source.dropna(subset=["ARMCD"]).groupby("ARMCD")["SUBJID"].nunique()
    return {str(k): int(v) for k, v in counts.items()}


def months_between(start: Any, end: Any) -> float:
    """Months from ``start`` to ``end``: whole days / 30.4375 (TRIAL.md 5); NaN if one is missing.

    Examples
    --------
    >>> round(months_between(pd.Timestamp("2014-01-01"), pd.Timestamp("2014-07-01")), 3)
    5.947
    >>> months_between(pd.Timestamp("2014-01-01"), pd.NaT)
    nan
    """
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return float("nan")
    return (pd.Timestamp(end) - pd.Timestamp(start)).days / DAYS_PER_MONTH


def unit_text(unit: Any) -> str:
    """A data-dictionary unit as printed on an axis (``10^9/L`` -> ``×10⁹/L``).

    Examples
    --------
    >>> unit_text("10^9/L"), unit_text("g/L"), unit_text(None)
    ('×10⁹/L', 'g/L', '')
    """
    if not isinstance(unit, str):
        return ""
    return unit.replace("10^9", "×10⁹").replace("10^6", "×10⁶").replace("uL", "µL")


def repeated_facts(
    adlb: pd.DataFrame,
    paramcd: str,
    visits: Sequence[str],
    arms: Mapping[str, str],
    arm_sizes: Mapping[str, int],
    *,
    title: str,
    axis_label: str,
    pvalue: float | None = None,
) -> RepeatedFacts:
    """Per-arm, per-visit mean ± SE and each subject's values of one ADLB parameter.

    Uses the analysis records (``ANL01FL == "Y"``) of ``paramcd`` at the
    given visits (D9: the record nearest the target day inside the window).

    Parameters
    ----------
    adlb : pandas.DataFrame
        ADLB (columns ``SUBJID, ARMCD, PARAMCD, AVISIT, ANL01FL, AVAL``).
    paramcd : str
        Parameter, e.g. ``"ANC"``.
    visits : sequence of str
        Visit codes in x order, e.g. ``("BASELINE", "D40", "D90")``.
    arms : Mapping
        Arm code -> label, in drawing order.
    arm_sizes : Mapping
        Arm code -> number of subjects (ADSL); the denominator for "missing".
    title, axis_label : str
        Printed panel title and y label.
    pvalue : float, optional
        The caller's arm x time interaction p.

    Returns
    -------
    RepeatedFacts

    Examples
    --------
    >>> adlb = pd.DataFrame({"SUBJID": ["A", "A", "B", "B"], "ARMCD": ["X"] * 4,
    ...     "PARAMCD": ["PLT"] * 4, "AVISIT": ["BASELINE", "D40"] * 2,
    ...     "ANL01FL": ["Y"] * 4, "AVAL": [10.0, 20.0, 30.0, 60.0]})
    >>> f = repeated_facts(adlb, "PLT", ["BASELINE", "D40"], {"X": "X"}, {"X": 2},
    ...                    title="Platelets", axis_label="PLT")
    >>> [(v.visit, v.n, v.mean, round(v.se, 3)) for v in f.arms[0].visits]
    [('BASELINE', 2, 20.0, 10.0), ('D40', 2, 40.0, 20.0)]
    """
    visits = tuple(visits)
    rows = adlb[
        (adlb["PARAMCD"] == paramcd)
        & (adlb["ANL01FL"] == "Y")
        & adlb["AVISIT"].isin(list(visits))
        & adlb["AVAL"].notna()
    ]
    series: list[ArmSeries] = []
    missing: list[str] = []
    for arm, label in arms.items():
        in_arm = rows[rows["ARMCD"] == arm]
        # one value per subject and visit (ANL01FL guarantees it; keep the first if not)
        wide = (
            in_arm.drop_duplicates(["SUBJID", "AVISIT"])
            .pivot(index="SUBJID", columns="AVISIT", values="AVAL")
            .reindex(columns=list(visits))
            .sort_index()
        )
        summaries = []
        for visit in visits:
            values = wide[visit].dropna().to_numpy(dtype=float) if len(wide) else np.array([])
            n = int(values.size)
            mean = float(values.mean()) if n else float("nan")
            se = float(values.std(ddof=1) / math.sqrt(n)) if n >= 2 else float("nan")
            summaries.append(VisitSummary(visit, n, mean, se))
            expected = int(arm_sizes.get(arm, 0))
            if n < expected:
                missing.append(
                    f"{title}: {visit_label(visit).lower()} value missing for "
                    f"{expected - n} of {expected} subjects in {label}"
                )
        subjects = tuple(
            SubjectSeries(
                str(sid),
                tuple(float(v) if pd.notna(v) else float("nan") for v in wide.loc[sid]),
            )
            for sid in wide.index
        )
        size = int(arm_sizes.get(arm, len(subjects)))
        series.append(ArmSeries(arm, label, size, tuple(summaries), subjects))
    return RepeatedFacts(
        paramcd=paramcd,
        title=title,
        axis_label=axis_label,
        visits=visits,
        pvalue=None if pvalue is None or pd.isna(pvalue) else float(pvalue),
        arms=tuple(series),
        missing=tuple(missing),
    )
