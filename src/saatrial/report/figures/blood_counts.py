"""Figure 1: ANC, haemoglobin, platelets and reticulocytes at baseline, day 40 and day 90 by arm.

Four panels (a-d, the paper's order). In each, every patient is a thin line
in the arm's colour, and the arm's mean ± SE is a thick line with error
bars; arms are nudged sideways so their bars do not overlap. The caller's
mixed-ANOVA arm x time interaction p (TRIAL.md 7) is printed in the panel
title when given. Values are the ADLB analysis records (``ANL01FL``) of each
visit (D9: nearest the target day inside the window).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from saatrial.report.figures.common import (
    PANEL_LETTERS,
    BuiltFigure,
    RepeatedFacts,
    add_arm_legend,
    built_figure,
    draw_arm_means,
    mark_no_values,
    panel_arm_styles,
    repeated_notices,
    repeated_panels,
    unit_text,
)
from saatrial.report.figures.style import ArmStyle, figure_style, format_p, visit_label

__all__ = [
    "FIGURE1_PANELS",
    "Figure1Facts",
    "blood_counts_facts",
    "blood_counts_figure",
    "draw_blood_counts",
]

KEY = "figure1_blood_counts"
#: ADLB parameter -> (panel title, axis label stem, key of the p-value in the
#: caller's mapping = key in published_results.yaml). Paper order: a-d.
FIGURE1_PANELS: dict[str, tuple[str, str, str]] = {
    "ANC": ("Neutrophils", "ANC", "ANC"),
    "HGB": ("Haemoglobin", "Haemoglobin", "HGB"),
    "PLT": ("Platelets", "Platelets", "PLT"),
    "ARC": ("Reticulocytes", "ARC", "ARC"),
}
DEFAULT_VISITS = ("BASELINE", "D40", "D90")


@dataclass(frozen=True)
class Figure1Facts:
    """What Figure 1 prints: one :class:`RepeatedFacts` per panel, in panel order."""

    panels: tuple[RepeatedFacts, ...]


def _axis_label(adlb: pd.DataFrame, paramcd: str, stem: str) -> str:
    units = adlb.loc[adlb["PARAMCD"] == paramcd, "AVALU"].dropna().unique()
    unit = unit_text(units[0]) if len(units) else ""
    return f"{stem} ({unit})" if unit else stem


def blood_counts_facts(
    adlb: pd.DataFrame,
    adsl: pd.DataFrame | None = None,
    pvalues: Mapping[str, float | None] | None = None,
    visits: Sequence[str] = DEFAULT_VISITS,
    panels: Mapping[str, tuple[str, str, str]] = FIGURE1_PANELS,
) -> Figure1Facts:
    """The numbers Figure 1 prints, computed from ADLB (and ADSL for the arms).

    Parameters
    ----------
    adlb : pandas.DataFrame
        ADLB.
    adsl : pandas.DataFrame, optional
        ADSL: arms, labels and arm sizes (default: taken from ADLB).
    pvalues : Mapping, optional
        p-value key (``"ANC"``, ``"HGB"``, ``"PLT"``, ``"ARC"``) -> arm x time
        interaction p, as computed by the analysis.
    visits : sequence of str
        Visit codes on the x axis.
    panels : Mapping
        ADLB parameter -> (title, axis label stem, p-value key).

    Returns
    -------
    Figure1Facts
    """
    with_units = {
        paramcd: (title, _axis_label(adlb, paramcd, stem), p_key)
        for paramcd, (title, stem, p_key) in panels.items()
    }
    return Figure1Facts(repeated_panels(adlb, adsl, pvalues, visits, with_units))


def draw_repeated_panel(
    ax: Axes, facts: RepeatedFacts, styles: Mapping[str, ArmStyle], letter: str
) -> None:
    """Draw one panel: patients' thin lines, arm mean ± SE, title with p."""
    x = np.arange(len(facts.visits), dtype=float)
    n_arms = len(facts.arms)
    offsets = (np.arange(n_arms) - (n_arms - 1) / 2) * 0.12
    for offset, arm in zip(offsets, facts.arms, strict=True):
        style = styles[arm.arm]
        for subject in arm.subjects:
            ax.plot(
                x + offset,
                subject.values,
                color=style.colour,
                alpha=0.35,
                linewidth=0.8,
                marker=".",
                markersize=3,
                zorder=1,
            )
        draw_arm_means(ax, x + offset, arm, style, linewidth=2.2, markersize=6)
    ax.set_xticks(x, [visit_label(v) for v in facts.visits])
    ax.set_xlim(-0.4, len(facts.visits) - 0.6)
    ax.set_ylabel(facts.axis_label)
    values = [v for a in facts.arms for s in a.subjects for v in s.values if not np.isnan(v)]
    if values and min(values) < 0.4 * max(values):
        ax.set_ylim(bottom=0)  # counts near zero: show the zero line
    ax.grid(axis="y", color="#E5E5E5", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    ax.set_title(f"{letter}   {facts.title}", loc="left")
    p_text = format_p(facts.pvalue)
    if p_text:
        ax.set_title(f"arm × time {p_text}", loc="right", fontweight="normal", fontsize=9.5)
    if not facts.has_data:
        mark_no_values(ax)
        ax.set_ylim(0, 1)
        ax.set_yticks([])


def draw_blood_counts(facts: Figure1Facts) -> Figure:
    """Draw Figure 1 from its facts (2 x 2 panels, one legend below).

    Returns
    -------
    matplotlib.figure.Figure
        Not yet rendered; see :func:`saatrial.report.figures.style.render`.
    """
    styles, sizes = panel_arm_styles(facts.panels)
    with figure_style():
        fig = Figure(figsize=(10.0, 8.2), layout="constrained")
        axes = fig.subplots(2, 2).ravel()
        for i, (ax, panel) in enumerate(zip(axes, facts.panels, strict=False)):
            draw_repeated_panel(ax, panel, styles, PANEL_LETTERS[i])
        for ax in axes[len(facts.panels) :]:
            ax.set_visible(False)
        add_arm_legend(fig, styles, sizes)
    return fig


def blood_counts_figure(
    adlb: pd.DataFrame,
    adsl: pd.DataFrame | None = None,
    pvalues: Mapping[str, float | None] | None = None,
    visits: Sequence[str] = DEFAULT_VISITS,
) -> BuiltFigure:
    """Figure 1: blood counts at baseline, day 40 and day 90 by arm.

    Parameters
    ----------
    adlb : pandas.DataFrame
        ADLB (:mod:`saatrial.derive.adlb`).
    adsl : pandas.DataFrame, optional
        ADSL, for the arms and their sizes.
    pvalues : Mapping, optional
        ``{"ANC": p, "HGB": p, "PLT": p, "ARC": p}``: the mixed-ANOVA arm x
        time interaction p of each parameter (printed as given; None or a
        missing key prints nothing).
    visits : sequence of str, default ("BASELINE", "D40", "D90")
        Visits on the x axis.

    Returns
    -------
    BuiltFigure
        Key ``figure1_blood_counts``; facts :class:`Figure1Facts`; a notice
        per panel without data and per arm and visit with missing values.

    Examples
    --------
    >>> adlb = pd.DataFrame({"SUBJID": ["A", "A", "B", "B"], "ARMCD": ["MSC"] * 4,
    ...     "TRTP": ["UC-MSC + IST"] * 4, "PARAMCD": ["PLT"] * 4,
    ...     "AVISIT": ["BASELINE", "D40"] * 2, "ANL01FL": ["Y"] * 4,
    ...     "AVAL": [10.0, 20.0, 30.0, 60.0], "AVALU": ["10^9/L"] * 4})
    >>> built = blood_counts_figure(adlb, pvalues={"PLT": 0.192})
    >>> plt = built.facts.panels[2]
    >>> plt.title, plt.axis_label, [(v.visit, v.n, v.mean) for v in plt.arms[0].visits]
    ('Platelets', 'Platelets (×10⁹/L)', [('BASELINE', 2, 20.0), ('D40', 2, 40.0), ('D90', 0, nan)])
    >>> built.notices[0].message
    'Neutrophils: no values at any visit; panel left empty'
    """
    facts = blood_counts_facts(adlb, adsl, pvalues, visits)
    return built_figure(
        facts,
        draw_blood_counts,
        key=KEY,
        title="Figure 1. Blood counts at baseline, day 40 and day 90 by arm",
        caption=_caption(facts),
        alt=_alt(facts),
        notices=repeated_notices(KEY, facts.panels),
    )


def _caption(facts: Figure1Facts) -> str:
    first = facts.panels[0] if facts.panels else None
    arms = ", ".join(f"{a.label} n = {a.n_subjects}" for a in first.arms) if first else ""
    ps = [
        f"{panel.title.lower()} {format_p(panel.pvalue)}"
        for panel in facts.panels
        if format_p(panel.pvalue)
    ]
    visits = ", ".join(visit_label(v).lower() for v in first.visits) if first else ""
    text = (
        f"{', '.join(p.title for p in facts.panels)} at {visits} ({arms}). Thin lines: "
        "individual patients; thick lines: arm mean ± standard error. Values at each visit "
        "are those nearest the target day within the visit window (D9)."
    )
    if ps:
        text += (
            " Two-factor repeated-measures ANOVA, arm × time interaction: " + "; ".join(ps) + "."
        )
    return text


def _alt(facts: Figure1Facts) -> str:
    parts = []
    for panel in facts.panels:
        arm_texts = []
        for arm in panel.arms:
            means = ", ".join(
                f"{visit_label(v.visit)} {v.mean:.3g}" if v.n else f"{visit_label(v.visit)} none"
                for v in arm.visits
            )
            arm_texts.append(f"{arm.label}: {means}")
        parts.append(f"{panel.title} means - " + "; ".join(arm_texts))
    return "Four line charts of blood counts by visit and arm. " + ". ".join(parts) + "."
