"""The "Statistical methods" section, written from what the analysis actually ran.

:func:`methods_text` reads an :class:`~saatrial.report.analysis.Analysis`
(the methods that ran, the parameters used, the numbers of subjects, what
could not be computed) and returns plain-text paragraphs. A method that did
not run is not described; a protocol with other visit windows or another
criteria set changes the text.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from importlib import metadata

from saatrial.report.analysis import ANOVA_SPECS, KM_LANDMARK_MONTHS, Analysis
from saatrial.stats import format_number

__all__ = ["methods_text", "software_versions"]

_PACKAGES = ("saatrial", "numpy", "scipy", "pandas", "statsmodels")


def software_versions() -> dict[str, str]:
    """Versions of Python and of the packages that computed the numbers.

    Examples
    --------
    >>> sorted(software_versions())
    ['numpy', 'pandas', 'python', 'saatrial', 'scipy', 'statsmodels']
    """
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _ran(analysis: Analysis, *words: str) -> bool:
    """Whether a method whose name contains every word (case-insensitive) ran."""
    return any(all(w.lower() in m.lower() for w in words) for m in analysis.methods_used)


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _population(analysis: Analysis) -> str:
    arms = _join([f"{analysis.arm_labels[a]} (n = {analysis.arm_n[a]})" for a in analysis.arms])
    n = sum(analysis.arm_n.values())
    per_month = analysis.settings.get("days_per_month", 30.4375)
    return (f"All {n} allocated patients were analysed by allocated arm: {arms or 'none'}. "
            "Study day 1 is the first rabbit ATG dose (D7); baseline values are the last "
            "ones on or before day 1. Times are in months of "
            f"{format_number(per_month)} days (TRIAL.md 5).")


def _descriptive(analysis: Analysis) -> str | None:
    tests: list[str] = []
    if _ran(analysis, "Student"):
        tests.append("Student's t-test (equal variances) on the means")
    if _ran(analysis, "Mann"):
        tests.append("the Mann–Whitney U test (exact without ties, otherwise the normal "
                     "approximation with continuity and tie correction) on the distributions")
    if _ran(analysis, "chi-squared"):
        tests.append("Pearson's χ² test for categorical characteristics, with Fisher's exact "
                     "test reported beside it because expected counts were below 5")
    text = ("Continuous variables are presented as median (range) and mean ± SD, categorical "
            "variables as n (%).")
    if tests:
        return text + " Baseline characteristics were compared between the arms with " + \
            _join(tests) + "."
    return text + " No between-arm test of baseline characteristics could be computed."


def _response(analysis: Analysis) -> str | None:
    if not analysis.responses:
        return None
    visits = analysis.settings.get("visits", {})
    windows = _join([f"{label} (± {w} days)" for _, (_, w, label) in visits.items()])
    criteria = _join(analysis.settings.get("criteria_sets") or ["the protocol's criteria set"])
    fallback = sum(sum(v.nr_by_fallback.values()) for v in analysis.responses.values())
    text = (f"Haematologic response was computed from the blood counts and transfusion records "
            f"with criteria set {criteria} at {windows}, using the value nearest the target "
            "day inside each window (D9): CR = ANC > 1.5, PLT > 100 × 10^9/L and haemoglobin "
            "normal for age (D13) with transfusion independence (D12); PR = transfusion "
            "independence (no transfusion in the previous 28 days, D11), ANC > 0.5, "
            "PLT > 20 × 10^9/L and an ARC rise of more than 30 × 10^9/L over baseline (D10); "
            f"otherwise NR (D14; {fallback} assessment(s) were NR by this fallback).")
    if _ran(analysis, "Fisher"):
        text += (" The overall response rate (CR + PR, all allocated patients as denominator) "
                 "and the response distribution were compared with Fisher's exact test.")
    return text


def _survival(analysis: Analysis) -> str | None:
    if not analysis.km:
        return None
    landmarks = _join([f"{t:g}" for t in KM_LANDMARK_MONTHS])
    text = ("Overall survival (death from any cause; HSCT does not censor) and failure-free "
            "survival (first of treatment failure dated at the start of salvage therapy, D15, "
            "relapse, D16, or death) were estimated by the Kaplan–Meier method with Greenwood "
            f"standard errors and read at {landmarks} months (4-year estimates at 48 months).")
    if _ran(analysis, "log-rank (Mantel"):
        text += " The arms were compared with the log-rank (Mantel–Haenszel) test"
        if _ran(analysis, "exact (permutation)"):
            n_perm = max((r.n_permutations for r in analysis.exact_logrank.values()), default=0)
            text += (f", and, as a small-sample check, with its exact permutation distribution "
                     f"({n_perm:,} relabelings)")
        text += "."
    fu = analysis.followup
    if fu is not None:
        text += (f" Median follow-up was {format_number(fu.median_observed, 1)} months "
                 f"(range {format_number(fu.min_observed, 1)}–{format_number(fu.max_observed, 1)})"
                 " as the median of observed times, and ")
        text += ("not reached" if fu.median != fu.median else
                 f"{format_number(fu.median, 1)} months") + " by the reverse Kaplan–Meier method."
    return text


def _anova(analysis: Analysis) -> str | None:
    ran = [s for s in ANOVA_SPECS if analysis.anova.get(s.key) is not None]
    if not ran:
        return ("No repeated-measures ANOVA could be computed (see the notices)."
                if analysis.anova else None)
    text = ("Changes over time were analysed with a two-factor repeated-measures (mixed) "
            "ANOVA, arm between subjects and visit within subjects (blood counts at baseline, "
            "day 40 and day 90; T-cell subsets at baseline and day 40), with Type III sums of "
            f"squares on complete cases ({_join([s.label for s in ran])}). The p-value "
            "reported is that of the arm × time interaction without sphericity correction, as "
            "the paper reports it; Mauchly's test and the Greenhouse–Geisser and Huynh–Feldt "
            "corrected p-values are given beside it.")
    missing = [s.label for s in ANOVA_SPECS if analysis.anova.get(s.key) is None]
    if missing:
        text += f" Not computed: {_join(missing)} (see the notices)."
    dropped = [f"{s.label} {len(analysis.anova_dropped.get(s.key, ()))}" for s in ran
               if analysis.anova_dropped.get(s.key)]
    if dropped:
        text += f" Patients left out for a missing visit: {_join(dropped)}."
    if _ran(analysis, "linear mixed model"):
        text += (" As a sensitivity analysis that keeps patients with missing visits, a linear "
                 "mixed model with a random intercept per patient (REML) was fitted and the "
                 "interaction tested with a Wald χ² test.")
    return text


def _safety(analysis: Analysis) -> str | None:
    versions = analysis.settings.get("ctcae_versions") or []
    if not analysis.adverse_events:
        return None
    version_text = f"CTCAE v{', v'.join(versions)}" if versions else "CTCAE"
    return (f"Adverse events were graded with {version_text}; Table 2 counts the patients with "
            "at least one treatment-emergent event (onset on or after day 1) at their worst "
            "grade, per term and per arm. Anaphylactic reactions are coded 'Allergic "
            "reaction' (grade 1–2) or 'Anaphylaxis' (grade 3 or more) (D17).")


def _closing(analysis: Analysis) -> str:
    versions = software_versions()
    software = ", ".join(f"{k} {v}" for k, v in versions.items() if k != "python")
    text = ("Two-sided p < 0.05 was considered significant. Computed by "
            f"{software} on Python {versions['python']}; the paper used SPSS 18.")
    if analysis.notices:
        text += (f" {len(analysis.notices)} analysis step(s) could not be computed in full; "
                 "the notices say which and why.")
    return text


def methods_text(analysis: Analysis) -> list[str]:
    """The statistical methods as paragraphs, written from what actually ran.

    Parameters
    ----------
    analysis : Analysis
        From :func:`saatrial.report.analysis.analyze`.

    Returns
    -------
    list of str
        Paragraphs: populations, descriptive statistics and baseline tests,
        response, survival and follow-up, repeated-measures ANOVA, safety,
        then significance level and software. A paragraph whose analyses did
        not run is left out or says so.

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> from saatrial.derive import derive_all
    >>> from saatrial.protocol import load_protocol
    >>> from saatrial.report.analysis import analyze
    >>> ads = derive_all(load_bundled_study())
    >>> paragraphs = methods_text(analyze(ads, load_protocol()))
    >>> paragraphs[0][:36]
    'All 18 allocated patients were analy'
    """
    parts = [
        _population(analysis),
        _descriptive(analysis),
        _response(analysis),
        _survival(analysis),
        _anova(analysis),
        _safety(analysis),
        _closing(analysis),
    ]
    return [p for p in parts if p]
