"""Haematologic response at each protocol visit, by arm (ADRS ``RSP`` rows).

Counts of CR, PR, NR and NE per arm with every allocated patient as the
denominator (a patient without a row at the visit is NE), the overall
response rate (CR + PR), patients NR only by the D14 fallback, and Fisher's
exact tests of the response distribution and of the ORR.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from saatrial.derive import AnalysisDatasets
from saatrial.protocol import Protocol
from saatrial.report.analysis_common import AnalysisLog, flag_mask
from saatrial.stats import FisherResult, fisher_exact

__all__ = ["RESPONSE_CATEGORIES", "VisitResponse", "response_by_visit"]

#: Response categories in printing order (TRIAL.md 4; NE = not evaluable).
RESPONSE_CATEGORIES = ("CR", "PR", "NR", "NE")


@dataclass(frozen=True)
class VisitResponse:
    """Haematologic response at one visit, by arm (ADRS ``RSP`` rows).

    Attributes
    ----------
    visit : str
        Visit code (``D40``, ``D90``, ``D180``).
    label : str
        Visit label from the protocol.
    counts : dict
        Arm -> category (CR, PR, NR, NE) -> subjects; subjects of the arm
        without a row at the visit count as NE.
    n : dict
        Arm -> subjects (denominator: every allocated subject, ITT).
    responders : dict
        Arm -> CR + PR.
    nr_by_fallback : dict
        Arm -> NR only because neither CR nor PR held (D14).
    fisher_orr : FisherResult or None
        Fisher's exact test of responders (CR + PR) vs not, by arm.
    fisher_categories : FisherResult or None
        Fisher's exact test of the whole arm x category table.
    note : str
        Why a test is missing.
    """

    visit: str
    label: str
    counts: dict[str, dict[str, int]]
    n: dict[str, int]
    responders: dict[str, int]
    nr_by_fallback: dict[str, int]
    fisher_orr: FisherResult | None
    fisher_categories: FisherResult | None
    note: str = ""

    def orr(self, arm: str) -> float | None:
        """Overall response rate (CR + PR) / n of an arm; None when the arm is empty."""
        n = self.n.get(arm, 0)
        return self.responders.get(arm, 0) / n if n else None


def response_by_visit(
    ads: AnalysisDatasets, protocol: Protocol, arms: Sequence[str], arm_n: Mapping[str, int],
    log: AnalysisLog,
) -> dict[str, VisitResponse]:
    """Response counts and tests at each protocol visit (in target-day order).

    Parameters
    ----------
    ads : AnalysisDatasets
        ADRS ``RSP`` rows are read.
    protocol : Protocol
        Visits (codes, labels, target days).
    arms : sequence of str
    arm_n : mapping
        Arm -> allocated subjects (the denominator; no row at a visit = NE).
    log : AnalysisLog

    Returns
    -------
    dict
        Visit code -> :class:`VisitResponse`.
    """
    rs = ads.adrs[flag_mask(ads.adrs["PARAMCD"], "RSP")]
    out: dict[str, VisitResponse] = {}
    for visit in sorted(protocol.visits.values(), key=lambda v: v.target_day):
        rows = rs[flag_mask(rs["AVISIT"], visit.code)]
        counts: dict[str, dict[str, int]] = {}
        fallback: dict[str, int] = {}
        for arm in arms:
            arm_rows = rows[flag_mask(rows["ARMCD"], arm)]
            cats = arm_rows["AVALC"].astype("string").fillna("NE")
            counts[arm] = {c: int((cats == c).sum()) for c in RESPONSE_CATEGORIES}
            counts[arm]["NE"] += arm_n[arm] - int(arm_rows["SUBJID"].nunique())  # no row = NE
            fallback[arm] = int(flag_mask(arm_rows["BYFALLFL"]).sum())  # D14
        responders = {arm: counts[arm]["CR"] + counts[arm]["PR"] for arm in arms}
        n_ne = sum(counts[arm]["NE"] for arm in arms)
        if n_ne:
            log.notice(f"Response {visit.code}",
                       f"{n_ne} subject(s) not evaluable (NE: no assessment or missing values "
                       "in the D9 window); they count as non-responders in the ORR")
        fisher_orr = fisher_cat = None
        note = ""
        if len(arms) == 2:
            fisher_orr = fisher_exact([[responders[a], arm_n[a] - responders[a]] for a in arms])
            log.used(fisher_orr.method)
            table = [[counts[a][c] for c in RESPONSE_CATEGORIES] for a in arms]
            fisher_cat = fisher_exact(table)
            log.used(fisher_cat.method)
        else:
            note = f"no test: Fisher's exact test compares 2 arms, the study has {len(arms)}"
            log.notice(f"Response {visit.code}", note)
        out[visit.code] = VisitResponse(visit.code, visit.label, counts, dict(arm_n),
                                        responders, fallback, fisher_orr, fisher_cat, note)
    return out
