"""saatrial.stats: the numeric core (no clinical vocabulary).

numpy/scipy/pandas in, frozen result objects out. Modules:
``describe`` (journal-style summaries), ``twogroup`` (t, Mann-Whitney,
chi-square, Fisher incl. exact RxC), ``anova`` (two-way mixed ANOVA,
MixedLM), ``survival`` (Kaplan-Meier, log-rank, exact log-rank, follow-up,
cumulative incidence).
"""

from saatrial.stats.anova import MixedAnovaResult, MixedLmResult, mixed_anova, mixed_lm
from saatrial.stats.describe import (
    CountTable,
    Summary,
    count_table,
    format_number,
    mean_sd,
    median_iqr,
    median_range,
    n_percent,
    summarize,
)
from saatrial.stats.survival import (
    CumulativeIncidenceResult,
    ExactLogrankResult,
    FollowUpResult,
    KaplanMeierResult,
    LogrankResult,
    SurvivalAt,
    cumulative_incidence,
    exact_logrank_test,
    kaplan_meier,
    logrank_test,
    reverse_km_follow_up,
)
from saatrial.stats.twogroup import (
    ChiSquareResult,
    FisherResult,
    MannWhitneyResult,
    TTestResult,
    chi_square,
    fisher_exact,
    fisher_exact_rxc,
    mann_whitney,
    student_t,
    welch_t,
)

__all__ = [
    "ChiSquareResult",
    "CountTable",
    "CumulativeIncidenceResult",
    "ExactLogrankResult",
    "FisherResult",
    "FollowUpResult",
    "KaplanMeierResult",
    "LogrankResult",
    "MannWhitneyResult",
    "MixedAnovaResult",
    "MixedLmResult",
    "Summary",
    "SurvivalAt",
    "TTestResult",
    "chi_square",
    "count_table",
    "cumulative_incidence",
    "exact_logrank_test",
    "fisher_exact",
    "fisher_exact_rxc",
    "format_number",
    "kaplan_meier",
    "logrank_test",
    "mann_whitney",
    "mean_sd",
    "median_iqr",
    "median_range",
    "mixed_anova",
    "mixed_lm",
    "n_percent",
    "reverse_km_follow_up",
    "student_t",
    "summarize",
    "welch_t",
]
