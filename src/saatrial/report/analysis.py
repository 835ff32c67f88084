"""The statistical analysis behind the report: every number it prints, computed once.

:func:`analyze` takes the derived datasets (:func:`saatrial.derive.derive_all`)
and the protocol and returns an :class:`Analysis`: the baseline comparisons
(Table 1), adverse events by term and grade band (Table 2), haematologic
response per visit, Kaplan-Meier curves, log-rank tests, the two-factor
repeated-measures ANOVAs, follow-up, and ``results`` - a nested dict with
every number of ``published_results.yaml`` under the same keys (plus
``results["extra"]`` for everything else computed).

All statistics come from :mod:`saatrial.stats` (tested against R, lifelines
and statsmodels elsewhere); the analysis only selects the rows and columns of
the datasets, as TRIAL.md section 7 says the paper did. Each concept has its
module: :mod:`~saatrial.report.analysis_baseline` (Table 1),
:mod:`~saatrial.report.analysis_safety` (Table 2 and the safety numbers),
:mod:`~saatrial.report.analysis_response`, :mod:`~saatrial.report.analysis_survival`
and :mod:`~saatrial.report.analysis_anova`; this one runs them and assembles
``results``. It never raises for
gaps in the data: what could not be computed becomes ``None`` in ``results``,
a :class:`~saatrial.report.model.Notice` saying why, and an entry in
``results["extra"]["not_computed"]`` (dotted key -> reason), which the
reproduction check quotes.

Examples
--------
>>> from saatrial.study import load_bundled_study
>>> from saatrial.derive import derive_all
>>> from saatrial.protocol import load_protocol
>>> study = load_bundled_study()
>>> a = analyze(derive_all(study), load_protocol(), study=study)
>>> a.results["long_term"]["ffs_4y"]["MSC"]["est"].__round__(3)
0.381
>>> round(a.anova_p["PLT"], 3), round(a.results["long_term"]["ffs_logrank_p"], 3)
(0.192, 0.153)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from saatrial.derive import AnalysisDatasets
from saatrial.protocol import Protocol
from saatrial.report.analysis_anova import ANOVA_SPECS, AnovaSpec, repeated_measures
from saatrial.report.analysis_baseline import (
    BASELINE_VARIABLES,
    BaselineVariable,
    CategoricalComparison,
    ContinuousComparison,
    balance_statement,
    baseline_numbers,
    compare_baseline,
)
from saatrial.report.analysis_common import (
    AnalysisLog,
    finite_or_none,
    flag_mask,
    pvalue_of,
    text_or_none,
)
from saatrial.report.analysis_response import (
    RESPONSE_CATEGORIES,
    VisitResponse,
    response_by_visit,
)
from saatrial.report.analysis_safety import (
    GRADE_BANDS,
    AeCount,
    count_adverse_events,
    load_ae_groups,
    safety_numbers,
)
from saatrial.report.analysis_survival import (
    KM_LANDMARK_MONTHS,
    LANDMARK_MONTHS,
    SurvivalSummary,
    follow_up,
    survival_analysis,
)
from saatrial.report.model import Notice
from saatrial.stats import (
    ExactLogrankResult,
    FollowUpResult,
    KaplanMeierResult,
    LogrankResult,
    MixedAnovaResult,
    MixedLmResult,
)
from saatrial.study import StudyData

__all__ = [
    "ANOVA_SPECS",
    "BASELINE_VARIABLES",
    "GRADE_BANDS",
    "KM_LANDMARK_MONTHS",
    "LANDMARK_MONTHS",
    "RESPONSE_CATEGORIES",
    "AeCount",
    "Analysis",
    "AnovaSpec",
    "BaselineVariable",
    "CategoricalComparison",
    "ContinuousComparison",
    "SurvivalSummary",
    "VisitResponse",
    "analyze",
    "load_ae_groups",
]


#: Severity as the paper writes it in the list of deaths.
_SEVERITY_SHORT = {"VSAA": "vSAA", "SAA": "SAA", "NSAA": "NSAA"}


#: The published yaml's per-arm blocks and the arm each one describes.
PAPER_ARM_BLOCKS = {"baseline_msc": "MSC", "baseline_control": "CONTROL"}


@dataclass(frozen=True)
class Analysis:
    """Everything the report computes from the derived datasets.

    Attributes
    ----------
    arms : tuple of str
        Arm codes in printing order (the protocol's order, then any other).
    arm_labels, arm_n : dict
        Arm -> label and number of allocated subjects.
    results : dict
        Nested numbers under the keys of ``published_results.yaml`` (e.g.
        ``results["long_term"]["ffs_4y"]["MSC"]["est"]``) and
        ``results["extra"]`` (everything else, incl. ``not_computed``).
    km : dict
        ``(PARAMCD, ARMCD)`` -> :class:`~saatrial.stats.KaplanMeierResult`.
    survival : dict
        ``(PARAMCD, ARMCD)`` -> :class:`SurvivalSummary`.
    logrank : dict
        PARAMCD -> :class:`~saatrial.stats.LogrankResult`.
    exact_logrank : dict
        PARAMCD -> :class:`~saatrial.stats.ExactLogrankResult` (permutation).
    anova : dict
        Published parameter key (``PLT`` ... ``TREG_pct``) ->
        :class:`~saatrial.stats.MixedAnovaResult` or None.
    anova_p, anova_p_gg, anova_p_hf : dict
        The arm x time interaction p: uncorrected (what the paper printed),
        Greenhouse-Geisser and Huynh-Feldt corrected.
    mixed_lm : dict
        Same keys -> :class:`~saatrial.stats.MixedLmResult` (sensitivity:
        all observed values, random subject intercept) or None.
    anova_dropped : dict
        Same keys -> subjects left out of the ANOVA for a missing visit.
    followup : FollowUpResult or None
        Follow-up from the OS times (median of observed times and reverse KM).
    responses : dict
        Visit code -> :class:`VisitResponse`, in visit order.
    baseline : tuple
        Table 1 rows: :class:`ContinuousComparison` and
        :class:`CategoricalComparison`.
    adverse_events : tuple of AeCount
        Table 2 rows: any event, each CTCAE term, then the groups.
    notices : list of Notice
        What could not be computed, and why.
    methods_used : list of str
        The statistical methods that actually ran, in first-use order.
    settings : dict
        Parameters used (visit windows, criteria set, CTCAE version, months
        per day, landmark), for the methods text.
    """

    arms: tuple[str, ...]
    arm_labels: dict[str, str]
    arm_n: dict[str, int]
    results: dict[str, Any]
    km: dict[tuple[str, str], KaplanMeierResult]
    survival: dict[tuple[str, str], SurvivalSummary]
    logrank: dict[str, LogrankResult]
    exact_logrank: dict[str, ExactLogrankResult]
    anova: dict[str, MixedAnovaResult | None]
    anova_p: dict[str, float | None]
    anova_p_gg: dict[str, float | None]
    anova_p_hf: dict[str, float | None]
    mixed_lm: dict[str, MixedLmResult | None]
    anova_dropped: dict[str, tuple[str, ...]]
    followup: FollowUpResult | None
    responses: dict[str, VisitResponse]
    baseline: tuple[ContinuousComparison | CategoricalComparison, ...]
    adverse_events: tuple[AeCount, ...]
    notices: list[Notice]
    methods_used: list[str]
    settings: dict[str, Any] = field(default_factory=dict)


def _allocated(ads: AnalysisDatasets, log: AnalysisLog) -> AnalysisDatasets:
    """The datasets restricted to allocated subjects, each row with its ADSL arm (ITT)."""
    adsl = ads.adsl[ads.adsl["ARMCD"].notna()]
    if len(adsl) < len(ads.adsl):
        log.notice("Populations", f"{len(ads.adsl) - len(adsl)} subject(s) without an arm "
                   "are left out of every analysis")
    arm_of = dict(zip(adsl["SUBJID"].astype(str), adsl["ARMCD"].astype(str), strict=True))

    def restrict(frame: pd.DataFrame) -> pd.DataFrame:
        subject = frame["SUBJID"].astype("string")
        keep = subject.isin(list(arm_of)).fillna(False).to_numpy()
        out = frame[keep].copy()
        out["ARMCD"] = pd.array([arm_of[s] for s in subject[keep]], dtype="string")
        return out

    return replace(ads, adsl=adsl, adlb=restrict(ads.adlb), adrs=restrict(ads.adrs),
                   adtte=restrict(ads.adtte), adae=restrict(ads.adae))


def _arm_order(adsl: pd.DataFrame, protocol: Protocol) -> tuple[str, ...]:
    present = [str(a) for a in adsl["ARMCD"].dropna().unique()]
    ordered = [a for a in protocol.arms if a in present]
    return tuple(ordered + sorted(a for a in present if a not in ordered))


def _arm_labels(adsl: pd.DataFrame, protocol: Protocol, arms: Sequence[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for arm in arms:
        rows = adsl.loc[flag_mask(adsl["ARMCD"], arm), "ARM"].dropna()
        if len(rows):
            labels[arm] = str(rows.iloc[0])
        else:
            labels[arm] = str(protocol.arms.get(arm, {}).get("label", arm))
    return labels


def _months_between(start: Any, end: Any, protocol: Protocol) -> float | None:
    """Months from ``start`` (day 1 = time 0) to ``end``; None if either is missing."""
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return None
    days = (pd.Timestamp(end) - pd.Timestamp(start)).days
    return days / protocol.days_per_month  # TRIAL.md 5: months = days / 30.4375


def _gvhd_text(study: StudyData | None, adsl: pd.DataFrame, log: AnalysisLog) -> str | None:
    """The GVHD sentence written from the recorded events (organs, grades, arm)."""
    if study is None or "outcome_events" not in study.tables:
        n_a = int(flag_mask(adsl["AGVHDFL"]).sum())
        n_c = int(flag_mask(adsl["CGVHDFL"]).sum())
        log.notice("GVHD", "organs and grades of GVHD are not in the analysis datasets and "
                   f"no study was given (ADSL: {n_a} with acute, {n_c} with chronic GVHD)",
                   "long_term.gvhd")
        return None
    ev = study.tables["outcome_events"]
    ev = ev[ev["event_type"].astype("string").isin(["AGVHD", "CGVHD"]).fillna(False)]
    if ev.empty:
        return "no GVHD"
    arm_of = dict(zip(adsl["SUBJID"].astype(str), adsl["ARMCD"].astype("string"), strict=True))
    hsct = set(adsl.loc[flag_mask(adsl["HSCTFL"]), "SUBJID"].astype(str))
    parts: list[str] = []
    for subject, rows in ev.groupby("subject_id", sort=True):
        acute = rows[flag_mask(rows["event_type"], "AGVHD")]
        chronic = rows[flag_mask(rows["event_type"], "CGVHD")]
        by_grade: dict[int, list[str]] = {}
        for organ, grade in zip(acute["gvhd_organ"], acute["gvhd_grade"], strict=True):
            g = int(grade) if pd.notna(grade) else 0
            by_grade.setdefault(g, []).append(str(organ).lower())
        acute_text = ", ".join(
            f"grade {g} {' and '.join(organs)} aGVHD" if g else f"{' and '.join(organs)} aGVHD"
            for g, organs in sorted(by_grade.items(), reverse=True)
        )
        chronic_text = " and ".join(str(o).lower() for o in chronic["gvhd_organ"])
        text = acute_text
        if chronic_text:
            text = f"{text}, then {chronic_text} cGVHD" if text else f"{chronic_text} cGVHD"
        arm = arm_of.get(str(subject)) or "unknown"
        who = f"{arm}-arm {'HSCT ' if str(subject) in hsct else ''}patient"
        parts.append(f"{who} ({subject}): {text}")
    if len(parts) == 1:
        return f"one {parts[0]}"
    return f"{_count_word(len(parts))} patients: " + "; ".join(parts)


def _count_word(n: int) -> str:
    words = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    return words[n] if 0 <= n < len(words) else str(n)


def _long_term(
    ads: AnalysisDatasets, protocol: Protocol, arms: Sequence[str],
    summaries: Mapping[tuple[str, str], SurvivalSummary],
    logrank: Mapping[str, LogrankResult], followup: FollowUpResult | None,
    study: StudyData | None, log: AnalysisLog,
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """The ``long_term`` block, and the months from day 1 to HSCT per arm."""
    adsl = ads.adsl
    out: dict[str, Any] = {}
    out["median_follow_up_months"] = None if followup is None else followup.median_observed
    out["follow_up_range_months"] = (
        None if followup is None else [followup.min_observed, followup.max_observed])
    os_time = ads.adtte[flag_mask(ads.adtte["PARAMCD"], "OS")].set_index("SUBJID")["AVAL"]
    deaths = []
    for row in adsl[flag_mask(adsl["DTHFL"])].itertuples():
        month = finite_or_none(os_time.get(row.SUBJID)) if row.SUBJID in os_time.index else None
        if month is None:
            month = _months_between(row.TRTSDT, row.DTHDT, protocol)
        deaths.append({
            "arm": text_or_none(row.ARMCD),
            "month": month,
            "cause": text_or_none(row.DTHCAUS),
            "severity": _SEVERITY_SHORT.get(str(row.SEVBL), text_or_none(row.SEVBL)),
            "subject": str(row.SUBJID),
        })
    deaths.sort(key=lambda d: (math.inf if d["month"] is None else d["month"], d["subject"]))
    out["deaths"] = deaths
    ffs_event = (pd.to_numeric(adsl["FFSCNSR"], errors="coerce") == 0).fillna(False).to_numpy()
    hsct = flag_mask(adsl["HSCTFL"])
    out["treatment_failure_then_hsct"] = {
        arm: int((hsct & ffs_event & flag_mask(adsl["ARMCD"], arm)).sum()) for arm in arms
    }
    hsct_rows = adsl[hsct & adsl["HSCTDT"].notna().to_numpy() & adsl["TRTSDT"].notna().to_numpy()]
    hsct_months = {
        arm: sorted(m for r in hsct_rows[flag_mask(hsct_rows["ARMCD"], arm)].itertuples()
                    if (m := _months_between(r.TRTSDT, r.HSCTDT, protocol)) is not None)
        for arm in arms
    }
    msc = hsct_months.get("MSC", [])
    out["msc_hsct_months_range"] = [msc[0], msc[-1]] if msc else None
    if not msc:
        log.notice("HSCT", "no HSCT in an arm coded MSC: msc_hsct_months_range not computed",
                   "long_term.msc_hsct_months_range")
    donors = adsl.loc[hsct, "HSCTDON"].astype("string").fillna("UNKNOWN")
    out["hsct_donors"] = {
        "haploidentical": int((donors == "HAPLO").sum()),
        "matched_unrelated": int((donors == "MUD").sum()),
        **{f"other_{d.lower()}": int((donors == d).sum())
           for d in sorted(set(donors) - {"HAPLO", "MUD"})},
    }
    out["gvhd"] = _gvhd_text(study, adsl, log)
    out["clonal_evolution"] = int(flag_mask(adsl["CLONFL"]).sum())
    relapse_tte = ads.adtte[flag_mask(ads.adtte["PARAMCD"], "FFS")
                            & (ads.adtte["CNSR"] == 0).fillna(False).to_numpy()
                            & ads.adtte["EVNTDESC"].astype("string").str.contains(
                                "relapse", case=False).fillna(False).to_numpy()]
    out["relapse"] = len(set(adsl.loc[flag_mask(adsl["RLPSFL"]), "SUBJID"])
                         | set(relapse_tte["SUBJID"]))
    for paramcd in ("OS", "FFS"):
        block: dict[str, Any] = {}
        for arm in arms:
            s = summaries.get((paramcd, arm))
            at = None if s is None else s.landmarks.get(LANDMARK_MONTHS)
            block[arm] = {"est": None if at is None else at.estimate,
                          "se": None if at is None else finite_or_none(at.se)}
        out[f"{paramcd.lower()}_4y"] = block
    out["ffs_logrank_p"] = pvalue_of(logrank.get("FFS"))
    return out, hsct_months


def _month_text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m")


def _study_block(
    ads: AnalysisDatasets, protocol: Protocol, arms: Sequence[str], labels: Mapping[str, str],
    arm_n: Mapping[str, int], study: StudyData | None, log: AnalysisLog,
) -> dict[str, Any]:
    adsl = ads.adsl
    registry: str | None = protocol.registry_id
    cutoff: str | None = None
    if study is not None and len(study.tables.get("study", ())):
        row = study.tables["study"].iloc[0]
        registry = text_or_none(row.get("registry_id")) or registry
        if pd.notna(row.get("data_cutoff_date")):
            cutoff = pd.Timestamp(row["data_cutoff_date"]).date().isoformat()
    if cutoff is None:
        last = adsl["LSTALVDT"].dropna()
        cutoff = None if last.empty else pd.Timestamp(last.max()).date().isoformat()
        log.notice("Study", "no data cut-off date (no study table given, or empty): the "
                   "follow-up cut-off shown is the latest date known alive")
    enrol = adsl["ENRLDT"].dropna()
    window = None if enrol.empty else [_month_text(enrol.min()), _month_text(enrol.max())]
    if window is None:
        log.notice("Study", "no enrolment dates", "study.enrollment_window")
    return {
        "registry_id": registry,
        "enrollment_window": window,
        "follow_up_cutoff": cutoff,
        "arms": {arm: {"label": labels[arm], "n": arm_n[arm]} for arm in arms},
    }


def analyze(
    ads: AnalysisDatasets, protocol: Protocol, *, study: StudyData | None = None
) -> Analysis:
    """Run every analysis of the report on the derived datasets.

    Parameters
    ----------
    ads : AnalysisDatasets
        From :func:`saatrial.derive.derive_all`.
    protocol : Protocol
        The trial protocol (arm order, visits and windows, months per day).
    study : StudyData, optional
        The study the datasets were derived from. Only read for what the
        analysis datasets do not carry: the registry identifier, the data
        cut-off and the organs and grades of GVHD. Without it those three
        come from the protocol, the latest date known alive, and nowhere
        (``long_term.gvhd`` is then not computed, with a notice).

    Returns
    -------
    Analysis

    Notes
    -----
    Populations: every allocated subject (ADSL ``ARMCD`` present) by
    allocated arm. Table 1 compares the first two arms with Student's t-test
    (the paper's test) and the Mann-Whitney U test for continuous
    characteristics, and with Pearson's chi-square and Fisher's exact test
    for categorical ones (TRIAL.md 7). The ANOVAs use each subject's record
    chosen for the visit (ADLB ``ANL01FL``, D9) on complete cases; the
    linear mixed model uses every observed value.

    References
    ----------
    Lan Y, et al. Combination of umbilical cord mesenchymal stem cells and
    standard immunosuppressive regimen for pediatric patients with severe
    aplastic anemia. BMC Pediatr. 2021;21:102.
    """
    log = AnalysisLog()
    ads = _allocated(ads, log)
    adsl = ads.adsl
    arms = _arm_order(adsl, protocol)
    labels = _arm_labels(adsl, protocol, arms)
    arm_n = {arm: int(flag_mask(adsl["ARMCD"], arm).sum()) for arm in arms}
    if len(arms) < 2:
        log.notice("Populations", f"the study has {len(arms)} arm(s): no between-arm "
                   "comparison can be computed")

    baseline = compare_baseline(adsl, arms, log)
    adverse = count_adverse_events(ads.adae, arms, arm_n, log)
    safety, safety_per_arm = safety_numbers(ads.adae, arms, log)
    responses = response_by_visit(ads, protocol, arms, arm_n, log)
    survival = survival_analysis(ads.adtte, arms, log)
    km, surv = survival.km, survival.summaries
    logrank, exact = survival.logrank, survival.exact_logrank
    followup = follow_up(ads.adtte, log)
    anova: dict[str, MixedAnovaResult | None] = {}
    lms: dict[str, MixedLmResult | None] = {}
    dropped: dict[str, tuple[str, ...]] = {}
    for spec in ANOVA_SPECS:
        rm = repeated_measures(ads.adlb, spec, arms, log)
        anova[spec.key], lms[spec.key], dropped[spec.key] = rm.anova, rm.mixed_lm, rm.dropped
    anova_p = {k: None if r is None else finite_or_none(r.interaction_p) for k, r in anova.items()}
    anova_gg = {k: None if r is None else finite_or_none(r.pvalue("interaction", "GG"))
                for k, r in anova.items()}
    anova_hf = {k: None if r is None else finite_or_none(r.pvalue("interaction", "HF"))
                for k, r in anova.items()}

    per_arm_baseline = baseline_numbers(adsl, baseline, arms)
    results: dict[str, Any] = {
        "study": _study_block(ads, protocol, arms, labels, arm_n, study, log)
    }
    for block, arm in PAPER_ARM_BLOCKS.items():
        if arm in per_arm_baseline:
            results[block] = dict(per_arm_baseline[arm])
    if "baseline_control" in results:
        results["baseline_control"]["note"] = balance_statement(baseline)
    results["safety"] = safety
    primary = protocol.primary_response_visit
    if primary in responses:  # the paper's response_day90 block
        day = protocol.visits[primary].target_day
        results[f"response_day{day}"] = {arm: dict(responses[primary].counts[arm])
                                         for arm in arms}
    results["repeated_measures_anova_p"] = dict(anova_p)
    results["long_term"], hsct_months = _long_term(ads, protocol, arms, surv, logrank,
                                                   followup, study, log)
    results["extra"] = _extra(
        per_arm_baseline, baseline, safety_per_arm, responses, surv, logrank, exact, anova,
        anova_gg, anova_hf, lms, followup, hsct_months, arms,
    )
    results["extra"]["anova_dropped_subjects"] = {k: list(v) for k, v in dropped.items()}
    results["extra"]["not_computed"] = dict(log.not_computed)

    settings = {
        "visits": {v.code: (v.target_day, v.window_days, v.label)
                   for v in sorted(protocol.visits.values(), key=lambda v: v.target_day)},
        "days_per_month": protocol.days_per_month,
        "landmark_months": LANDMARK_MONTHS,
        "criteria_sets": sorted({f"{r.CRITSET} v{r.CRITSETV}" for r in ads.adrs[
            ["CRITSET", "CRITSETV"]].dropna().drop_duplicates().itertuples()}),
        "ctcae_versions": sorted({str(v) for v in ads.adae["AECTCV"].dropna()}),
        "ae_groups_version": load_ae_groups()["version"],
        "protocol": f"{protocol.protocol_id} v{protocol.version}",
    }
    return Analysis(
        arms=arms, arm_labels=labels, arm_n=arm_n, results=results, km=km, survival=surv,
        logrank=logrank, exact_logrank=exact, anova=anova, anova_p=anova_p,
        anova_p_gg=anova_gg, anova_p_hf=anova_hf, mixed_lm=lms, anova_dropped=dropped,
        followup=followup,
        responses=responses, baseline=baseline, adverse_events=adverse,
        notices=log.notices, methods_used=log.methods, settings=settings,
    )


def _extra(
    per_arm_baseline: Mapping[str, Any],
    baseline: Sequence[ContinuousComparison | CategoricalComparison],
    safety_per_arm: Mapping[str, Any],
    responses: Mapping[str, VisitResponse],
    surv: Mapping[tuple[str, str], SurvivalSummary],
    logrank: Mapping[str, LogrankResult],
    exact: Mapping[str, ExactLogrankResult],
    anova: Mapping[str, MixedAnovaResult | None],
    anova_gg: Mapping[str, float | None],
    anova_hf: Mapping[str, float | None],
    lms: Mapping[str, MixedLmResult | None],
    followup: FollowUpResult | None,
    hsct_months: Mapping[str, list[float]],
    arms: Sequence[str],
) -> dict[str, Any]:
    """Every other computed number, JSON-ready (None for not computed)."""
    table1: dict[str, Any] = {}
    for row in baseline:
        if isinstance(row, ContinuousComparison):
            table1[row.variable.key] = {"student_t_p": pvalue_of(row.student_t),
                                        "mann_whitney_p": pvalue_of(row.mann_whitney)}
        else:
            table1[row.key] = {"chi_square_p": pvalue_of(row.chi_square),
                               "fisher_p": pvalue_of(row.fisher),
                               "counts": {a: dict(row.counts[a]) for a in arms}}
    survival: dict[str, Any] = {}
    for (paramcd, arm), s in surv.items():
        survival.setdefault(paramcd, {})[arm] = {
            "n": s.n, "events": s.n_events, "censored": s.n_censored,
            "median_months": finite_or_none(s.median),
            "at_months": {f"{t:g}": None if at is None else
                          {"est": at.estimate, "se": finite_or_none(at.se),
                           "n_at_risk": at.n_at_risk}
                          for t, at in s.landmarks.items()},
        }
    return {
        "arms": list(arms),
        "baseline": {a: dict(v) for a, v in per_arm_baseline.items()},
        "table1_tests": table1,
        "safety": {a: dict(v) for a, v in safety_per_arm.items()},
        "responses": {
            code: {"counts": {a: dict(r.counts[a]) for a in arms}, "n": dict(r.n),
                   "orr": {a: r.orr(a) for a in arms},
                   "nr_by_d14_fallback": dict(r.nr_by_fallback),
                   "fisher_orr_p": pvalue_of(r.fisher_orr),
                   "fisher_categories_p": pvalue_of(r.fisher_categories)}
            for code, r in responses.items()
        },
        "survival": survival,
        "logrank_p": {k: pvalue_of(v) for k, v in logrank.items()},
        "logrank_chi2": {k: finite_or_none(v.statistic) for k, v in logrank.items()},
        "exact_logrank_p": {k: pvalue_of(v) for k, v in exact.items()},
        "anova": {
            k: None if r is None else {
                "p": finite_or_none(r.interaction_p), "p_gg": anova_gg[k], "p_hf": anova_hf[k],
                "F": finite_or_none(r.table.loc[r.interaction, "F"]),
                "df": [finite_or_none(r.table.loc[r.interaction, "df"]),
                       finite_or_none(r.table.loc["Error (within subjects)", "df"])],
                "epsilon_gg": finite_or_none(r.epsilon_gg),
                "epsilon_hf": finite_or_none(r.epsilon_hf),
                "n_per_arm": {str(a): int(n) for a, n in r.n_per_group.items()},
            }
            for k, r in anova.items()
        },
        "mixed_lm_p": {k: None if r is None else finite_or_none(r.interaction_p)
                       for k, r in lms.items()},
        "follow_up": None if followup is None else {
            "median_observed_months": followup.median_observed,
            "min_months": followup.min_observed, "max_months": followup.max_observed,
            "reverse_km_median_months": finite_or_none(followup.median),
            "reverse_km_ci_months": [finite_or_none(followup.ci_lower),
                                     finite_or_none(followup.ci_upper)],
        },
        "hsct_months": {a: list(v) for a, v in hsct_months.items()},
    }
