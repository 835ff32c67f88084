"""Blood counts and T-cell subsets over time: the paper's repeated-measures ANOVAs.

For each parameter of :data:`ANOVA_SPECS` (TRIAL.md 7), the ADLB record
chosen for each visit (``ANL01FL``, D9) of every patient with all visits
(complete cases) enters a two-factor mixed ANOVA (arm between x visit
within); the arm x time interaction p is what the paper reports. A linear
mixed model on every observed value is the sensitivity analysis.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from saatrial.report.analysis_common import AnalysisLog, flag_mask
from saatrial.stats import MixedAnovaResult, MixedLmResult, mixed_anova, mixed_lm

__all__ = ["ANOVA_SPECS", "AnovaSpec", "RepeatedMeasures", "repeated_measures"]

@dataclass(frozen=True)
class AnovaSpec:
    """One two-factor repeated-measures ANOVA (arm between x visit within).

    Attributes
    ----------
    key : str
        Key in ``published_results.yaml`` (``repeated_measures_anova_p``).
    paramcd : str
        ADLB ``PARAMCD``.
    label, unit : str
        For tables and figures.
    visits : tuple of str
        ADLB ``AVISIT`` codes, in time order.
    """

    key: str
    paramcd: str
    label: str
    unit: str
    visits: tuple[str, ...]


_COUNT_VISITS = ("BASELINE", "D40", "D90")  # TRIAL.md 7: baseline, day 40, day 90


_TCELL_VISITS = ("BASELINE", "D40")  # TRIAL.md 3/7: before and after treatment (day 40)


#: The paper's seven ANOVAs (TRIAL.md 7), keyed as in the published yaml.
ANOVA_SPECS: tuple[AnovaSpec, ...] = (
    AnovaSpec("PLT", "PLT", "Platelets", "10^9/L", _COUNT_VISITS),
    AnovaSpec("ANC", "ANC", "Absolute neutrophil count", "10^9/L", _COUNT_VISITS),
    AnovaSpec("HGB", "HGB", "Haemoglobin", "g/L", _COUNT_VISITS),
    AnovaSpec("ARC", "ARC", "Absolute reticulocyte count", "10^9/L", _COUNT_VISITS),
    AnovaSpec("CD3CD4_pct", "CD4PCT", "CD3+CD4+ T cells", "% of lymphocytes", _TCELL_VISITS),
    AnovaSpec("CD3CD8_pct", "CD8PCT", "CD3+CD8+ T cells", "% of lymphocytes", _TCELL_VISITS),
    AnovaSpec("TREG_pct", "TREGPCT", "CD4+CD25+CD127dim Treg", "% of CD4+ cells", _TCELL_VISITS),
)


def _anova_data(adlb: pd.DataFrame, spec: AnovaSpec, arms: Sequence[str]) -> pd.DataFrame:
    rows = adlb[flag_mask(adlb["ANL01FL"]) & flag_mask(adlb["PARAMCD"], spec.paramcd)]  # D9 records
    rows = rows[rows["AVISIT"].astype("string").isin(spec.visits).fillna(False).to_numpy()]
    rows = rows[rows["AVAL"].notna() & rows["ARMCD"].notna()]
    arm_levels = [a for a in arms if a in set(rows["ARMCD"].astype(str))]
    return pd.DataFrame({
        "subject": rows["SUBJID"].astype(str).to_numpy(),
        "arm": pd.Categorical(rows["ARMCD"].astype(str), categories=arm_levels),
        "visit": pd.Categorical(rows["AVISIT"].astype(str), categories=list(spec.visits)),
        "value": rows["AVAL"].astype(float).to_numpy(),
    })


@dataclass(frozen=True)
class RepeatedMeasures:
    """One parameter's repeated-measures analysis.

    Attributes
    ----------
    spec : AnovaSpec
    anova : MixedAnovaResult or None
        Mixed ANOVA on complete cases; None when it could not be computed.
    mixed_lm : MixedLmResult or None
        Linear mixed model on every observed value; None when not computed.
    dropped : tuple of str
        Subjects left out of the ANOVA for a missing visit.
    """

    spec: AnovaSpec
    anova: MixedAnovaResult | None
    mixed_lm: MixedLmResult | None
    dropped: tuple[str, ...]


def repeated_measures(
    adlb: pd.DataFrame, spec: AnovaSpec, arms: Sequence[str], log: AnalysisLog
) -> RepeatedMeasures:
    """Mixed ANOVA (arm x visit) on complete cases and a linear mixed model on all values.

    Parameters
    ----------
    adlb : pandas.DataFrame
        ADLB; the records chosen for a visit (``ANL01FL``, D9) are used.
    spec : AnovaSpec
        Parameter and visits.
    arms : sequence of str
        Arm order (the between factor's levels).
    log : AnalysisLog
        Receives why the ANOVA was not computed (no data, fewer than two
        arms, fewer than two complete subjects in an arm) and who was left
        out.

    Returns
    -------
    RepeatedMeasures
    """
    where = f"Repeated-measures ANOVA ({spec.key})"
    key = f"repeated_measures_anova_p.{spec.key}"
    data = _anova_data(adlb, spec, arms)
    if data.empty:
        log.notice(where, f"no {spec.paramcd} values at {', '.join(spec.visits)}", key)
        return RepeatedMeasures(spec, None, None, ())
    per_subject = data.groupby("subject", observed=True)["visit"].nunique()
    complete_ids = set(per_subject[per_subject == len(spec.visits)].index)
    complete = data[data["subject"].isin(complete_ids)]
    dropped = sorted(set(data["subject"]) - complete_ids)
    n_arm = complete.groupby("arm", observed=False)["subject"].nunique()
    n_by_arm = {str(a): int(n_arm.get(a, 0)) for a in data["arm"].cat.categories}
    short = {a: n for a, n in n_by_arm.items() if n < 2}
    result: MixedAnovaResult | None = None
    if len(n_by_arm) < 2:
        log.notice(where, f"no ANOVA: the arm x time interaction needs 2 arms, "
                   f"{len(n_by_arm)} with data", key)
    elif short:
        detail = ", ".join(f"{a}: {n}" for a, n in short.items())
        log.notice(where, f"no ANOVA: fewer than 2 subjects with every visit "
                   f"({', '.join(spec.visits)}) in an arm ({detail})", key)
    else:
        if dropped:
            log.notice(where, f"{len(dropped)} subject(s) left out for a missing visit "
                       f"(complete cases): {', '.join(dropped)}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                result = mixed_anova(complete, dv="value", within="visit", between="arm",
                                     subject="subject")
            log.used("two-factor repeated-measures (mixed) ANOVA, Type III sums of squares, "
                     "arm x time interaction (sphericity assumed; Greenhouse-Geisser and "
                     "Huynh-Feldt corrections)")
        except ValueError as exc:
            log.notice(where, f"no ANOVA: {exc}", key)
    lm: MixedLmResult | None = None
    if data["arm"].nunique() >= 2 and data["subject"].nunique() > 2:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lm = mixed_lm(data, dv="value", within="visit", between="arm",
                              subject="subject")
            log.used("linear mixed model (random subject intercept, REML), Wald test of the "
                     "arm x time interaction")
            if not lm.converged:
                log.notice(f"Mixed model ({spec.key})", "the REML fit did not converge; its "
                           "p-value is shown for information only")
        except (ValueError, np.linalg.LinAlgError) as exc:
            log.notice(f"Mixed model ({spec.key})", f"not computed: {exc}")
    return RepeatedMeasures(spec, result, lm, tuple(dropped) if result is not None else ())
