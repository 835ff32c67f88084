"""Table 2 and the safety numbers: treatment-emergent adverse events by term, grade and arm.

Counts are patients, each counted once at the worst grade of the term (or of
the group of terms, :func:`load_ae_groups`), among treatment-emergent events
(ADAE ``TRTEMFL``: onset on or after the first rATG dose). The published
safety statements (anaphylactic reactions per D17, severe infections) are
computed from the same counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from saatrial.report.analysis_common import AnalysisLog, flag_mask
from saatrial.stats import FisherResult, fisher_exact

__all__ = [
    "GRADE_BANDS",
    "AeCount",
    "count_adverse_events",
    "in_group",
    "load_ae_groups",
    "safety_numbers",
]

#: CTCAE grade bands of Table 2 (ADAE GRDBAND).
GRADE_BANDS = ("1-2", "3-4", "5")


@dataclass(frozen=True)
class AeCount:
    """Subjects with a treatment-emergent adverse event, by worst grade band and arm.

    Attributes
    ----------
    term : str
        CTCAE term, a group label, or ``"Any adverse event"``.
    kind : str
        ``"any"``, ``"term"`` or ``"group"``.
    counts : dict
        Arm -> band (``1-2``, ``3-4``, ``5``, ``any``) -> subjects, each
        subject counted once at the worst grade.
    fisher_any : FisherResult or None
        Fisher's exact test of subjects with vs without the event (any
        grade), by arm; None with fewer or more than two arms.
    """

    term: str
    kind: str
    counts: dict[str, dict[str, int]]
    fisher_any: FisherResult | None


@cache
def load_ae_groups() -> dict[str, Any]:
    """The CTCAE term groups of the report (``report/ae_groups.yaml``).

    Returns
    -------
    dict
        ``version``, ``source`` and ``groups`` (key -> ``label``, ``terms``,
        ``contains``).

    Examples
    --------
    >>> g = load_ae_groups()
    >>> g["version"], sorted(g["groups"]["anaphylactic_reaction"]["terms"])
    ('1.0.0', ['Allergic reaction', 'Anaphylaxis'])
    """
    text = resources.files("saatrial.report").joinpath("ae_groups.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    for key in ("version", "source", "groups"):
        if key not in data:
            raise ValueError(f"ae_groups.yaml: missing top-level key {key!r}")
    for name, spec in data["groups"].items():
        for key in ("label", "terms", "contains"):
            if key not in spec:
                raise ValueError(f"ae_groups.yaml: groups.{name}: missing key {key!r}")
    return data


def in_group(term: str, spec: Mapping[str, Any]) -> bool:
    """Whether a CTCAE term belongs to a group of ``ae_groups.yaml``.

    Examples
    --------
    >>> groups = load_ae_groups()["groups"]
    >>> in_group("Anaphylaxis", groups["anaphylactic_reaction"])
    True
    >>> in_group("Lung infection", groups["infection"]), in_group("Fever", groups["infection"])
    (True, False)
    """
    low = term.lower()
    if low in {t.lower() for t in spec["terms"]}:
        return True
    return any(word.lower() in low for word in spec["contains"])


def _band(grade: float) -> str | None:
    if grade in (1, 2):
        return "1-2"
    if grade in (3, 4):
        return "3-4"
    if grade == 5:
        return "5"
    return None


def _ae_count(
    term: str, kind: str, worst: pd.DataFrame, arms: Sequence[str], arm_n: Mapping[str, int],
    log: AnalysisLog,
) -> AeCount:
    """``worst``: one row per subject (SUBJID, ARMCD, grade) for this term or group."""
    counts: dict[str, dict[str, int]] = {}
    for arm in arms:
        rows = worst[flag_mask(worst["ARMCD"], arm)]
        bands = [_band(g) for g in rows["grade"]]
        counts[arm] = {b: bands.count(b) for b in GRADE_BANDS}
        counts[arm]["any"] = len(rows)
    fisher: FisherResult | None = None
    if len(arms) == 2:
        table = [[counts[a]["any"], arm_n[a] - counts[a]["any"]] for a in arms]
        fisher = fisher_exact(table)
        log.used(fisher.method)
    return AeCount(term, kind, counts, fisher)


def count_adverse_events(
    adae: pd.DataFrame, arms: Sequence[str], arm_n: Mapping[str, int], log: AnalysisLog
) -> tuple[AeCount, ...]:
    """Table 2 rows: any event, each CTCAE term (alphabetical), then each term group.

    Parameters
    ----------
    adae : pandas.DataFrame
        ADAE; only treatment-emergent rows (``TRTEMFL == "Y"``) count.
    arms : sequence of str
        Arm codes in printing order.
    arm_n : mapping
        Arm -> allocated subjects (denominator of Fisher's exact test).
    log : AnalysisLog

    Returns
    -------
    tuple of AeCount
    """
    te = adae[flag_mask(adae["TRTEMFL"])].copy()  # treatment-emergent: onset on/after day 1 (D7)
    te["grade"] = pd.to_numeric(te["AETOXGR"], errors="coerce").astype(float)
    te["term"] = te["AEDECOD"].astype("string").fillna(te["AETERM"].astype("string"))
    unknown = te["grade"].isna() | te["term"].isna()
    if unknown.any():
        log.notice("Table 2", f"{int(unknown.sum())} treatment-emergent event(s) without a "
                   "CTCAE term or grade are left out of the grade bands")
        te = te[~unknown]
    te = te[te["ARMCD"].notna()]

    def worst(rows: pd.DataFrame) -> pd.DataFrame:
        return rows.groupby(["SUBJID", "ARMCD"], observed=True)["grade"].max().reset_index()

    out = [_ae_count("Any adverse event", "any", worst(te), arms, arm_n, log)]
    for term in sorted({str(t) for t in te["term"]}, key=str.lower):
        out.append(_ae_count(term, "term", worst(te[flag_mask(te["term"], term)]), arms, arm_n,
                             log))
    for spec in load_ae_groups()["groups"].values():
        mask = np.array([in_group(str(t), spec) for t in te["term"]], dtype=bool)
        out.append(_ae_count(str(spec["label"]), "group", worst(te[mask]), arms, arm_n, log))
    return tuple(out)


def safety_numbers(
    adae: pd.DataFrame, arms: Sequence[str], log: AnalysisLog
) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
    """The published safety statements, and the same counts for every arm.

    Parameters
    ----------
    adae : pandas.DataFrame
        ADAE.
    arms : sequence of str
        Arm codes.
    log : AnalysisLog
        Receives what could not be computed.

    Returns
    -------
    tuple
        ``(block, per_arm)``: ``block`` has the keys of the published
        ``safety`` block (``msc_anaphylaxis_any`` ... from the arm coded
        ``MSC``, ``severe_infection_grade_ge3`` per arm, ``ctcae_version``);
        ``per_arm`` maps each arm to its counts (patients by worst grade:
        anaphylactic reaction any / grade 1-2 / 3 / >= 4 (D17), oral mucositis,
        infection grade >= 3, any event grade >= 3).
    """
    groups = load_ae_groups()["groups"]
    te = adae[flag_mask(adae["TRTEMFL"])].copy()
    te["grade"] = pd.to_numeric(te["AETOXGR"], errors="coerce").astype(float)
    term = te["AEDECOD"].astype("string").fillna("")

    def subjects(mask: np.ndarray, arm: str) -> pd.Series:
        rows = te[mask & flag_mask(te["ARMCD"], arm)]
        return rows.groupby("SUBJID")["grade"].max()

    reaction = np.array([in_group(str(t), groups["anaphylactic_reaction"]) for t in term])
    infection = np.array([in_group(str(t), groups["infection"]) for t in term])
    mucositis = flag_mask(term, "Mucositis oral")
    per_arm: dict[str, dict[str, int]] = {}
    for arm in arms:
        worst_reaction = subjects(reaction, arm)
        worst_mucositis = subjects(mucositis, arm)
        per_arm[arm] = {
            "anaphylaxis_any": len(worst_reaction),
            "anaphylaxis_grade_1_2": int(worst_reaction.between(1, 2).sum()),
            "anaphylaxis_grade_3": int((worst_reaction == 3).sum()),
            "anaphylaxis_grade_ge_4": int((worst_reaction >= 4).sum()),
            "oral_mucositis_grade_2": int((worst_mucositis == 2).sum()),
            "oral_mucositis_any": len(worst_mucositis),
            "severe_infection_grade_ge3": int((subjects(infection, arm) >= 3).sum()),
            "any_grade_ge3": int((subjects(np.ones(len(te), dtype=bool), arm) >= 3).sum()),
        }
    versions = sorted({str(v) for v in adae["AECTCV"].dropna()})
    if len(versions) > 1:
        log.notice("Safety", f"adverse events graded with several CTCAE versions: "
                   f"{', '.join(versions)}")
    out: dict[str, Any] = {}
    if "MSC" in per_arm:  # the published block names the MSC arm's numbers msc_*
        for key in ("anaphylaxis_any", "anaphylaxis_grade_1_2", "anaphylaxis_grade_3",
                    "oral_mucositis_grade_2"):
            out[f"msc_{key}"] = per_arm["MSC"][key]
    else:
        log.notice("Safety", "no arm coded MSC: the msc_* safety numbers are not computed",
                   "safety.msc_anaphylaxis_any", "safety.msc_anaphylaxis_grade_1_2",
                   "safety.msc_anaphylaxis_grade_3", "safety.msc_oral_mucositis_grade_2")
    out["severe_infection_grade_ge3"] = {
        arm: per_arm[arm]["severe_infection_grade_ge3"] for arm in arms
    }
    out["ctcae_version"] = ", ".join(versions) if versions else None
    if not versions:
        log.notice("Safety", "no adverse events: the CTCAE version is unknown",
                   "safety.ctcae_version")
    return out, per_arm
