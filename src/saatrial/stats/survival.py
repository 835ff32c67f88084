"""Survival statistics: Kaplan-Meier, log-rank (asymptotic and exact), follow-up, CIF.

The public face of the survival core. Numbers in, result objects out; no
clinical vocabulary (issue 4). The implementation is split by concept:

``_survival_input``   argument checking and label coding
``_survival_table``   the counting core (bincount for whole-number times, one
                      SIMD value sort otherwise; see its docstring for why we
                      do not use lifelines/statsmodels/scipy here)
``_survival_km``      Kaplan-Meier + Greenwood, median, reverse-KM follow-up
``_survival_logrank`` k-sample and stratified log-rank, float64 variance
``_survival_exact``   permutation log-rank for small samples (9 vs 9)
``_survival_cif``     Aalen-Johansen cumulative incidence, delta-method SE
"""

from __future__ import annotations

from ._survival_cif import CumulativeIncidenceAt, CumulativeIncidenceResult, cumulative_incidence
from ._survival_exact import ExactLogrankResult, exact_logrank_test
from ._survival_km import (
    FollowUpResult,
    KaplanMeierResult,
    MedianSurvival,
    SurvivalAt,
    kaplan_meier,
    kaplan_meier_by_group,
    reverse_km_follow_up,
)
from ._survival_logrank import LogrankResult, logrank_test

__all__ = [
    "CumulativeIncidenceAt",
    "CumulativeIncidenceResult",
    "ExactLogrankResult",
    "FollowUpResult",
    "KaplanMeierResult",
    "LogrankResult",
    "MedianSurvival",
    "SurvivalAt",
    "cumulative_incidence",
    "exact_logrank_test",
    "kaplan_meier",
    "kaplan_meier_by_group",
    "logrank_test",
    "reverse_km_follow_up",
]
