"""Figure 2: CD3+CD4+ %, CD3+CD8+ % and Treg % before and after treatment, by arm.

Three panels (a-c, the paper's order). In each, the arms stand side by side;
within an arm, each patient's baseline and day-40 values (TRIAL.md 3: T-cell
subsets at baseline and after treatment, day 40) are joined by a thin line,
and the arm mean ± SE by a thick one. The caller's mixed-ANOVA arm x time p is
printed in the panel title when given.
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
)
from saatrial.report.figures.style import ArmStyle, figure_style, format_p, visit_label

__all__ = ["FIGURE2_PANELS", "Figure2Facts", "draw_tcells", "tcells_facts", "tcells_figure"]

KEY = "figure2_tcells"
#: ADLB parameter -> (panel title, y label, p-value key as in published_results.yaml).
FIGURE2_PANELS: dict[str, tuple[str, str, str]] = {
    "CD4PCT": ("CD3⁺CD4⁺ T cells", "CD3⁺CD4⁺ T cells (% of lymphocytes)", "CD3CD4_pct"),
    "CD8PCT": ("CD3⁺CD8⁺ T cells", "CD3⁺CD8⁺ T cells (% of lymphocytes)", "CD3CD8_pct"),
    "TREGPCT": (
        "CD4⁺CD25⁺CD127dim Treg",
        "Tregs (% of CD4⁺ lymphocytes)",
        "TREG_pct",
    ),
}
DEFAULT_VISITS = ("BASELINE", "D40")
_GROUP_GAP = 0.7  # x space between the arms' groups


@dataclass(frozen=True)
class Figure2Facts:
    """What Figure 2 prints: one :class:`RepeatedFacts` per panel, in panel order."""

    panels: tuple[RepeatedFacts, ...]


def tcells_facts(
    adlb: pd.DataFrame,
    adsl: pd.DataFrame | None = None,
    pvalues: Mapping[str, float | None] | None = None,
    visits: Sequence[str] = DEFAULT_VISITS,
    panels: Mapping[str, tuple[str, str, str]] = FIGURE2_PANELS,
) -> Figure2Facts:
    """The numbers Figure 2 prints, computed from ADLB's T-cell parameters.

    Parameters
    ----------
    adlb : pandas.DataFrame
        ADLB (parameters ``CD4PCT``, ``CD8PCT``, ``TREGPCT``).
    adsl : pandas.DataFrame, optional
        ADSL: arms, labels and sizes.
    pvalues : Mapping, optional
        ``{"CD3CD4_pct": p, "CD3CD8_pct": p, "TREG_pct": p}``.
    visits : sequence of str, default ("BASELINE", "D40")
        Before and after.
    panels : Mapping
        ADLB parameter -> (title, y label, p-value key).

    Returns
    -------
    Figure2Facts
    """
    return Figure2Facts(repeated_panels(adlb, adsl, pvalues, visits, panels))


def _draw_panel(
    ax: Axes, facts: RepeatedFacts, styles: Mapping[str, ArmStyle], letter: str
) -> None:
    n_visits = len(facts.visits)
    ticks: list[float] = []
    tick_labels: list[str] = []
    for i, arm in enumerate(facts.arms):
        style = styles[arm.arm]
        x = i * (n_visits - 1 + _GROUP_GAP) + np.arange(n_visits, dtype=float)
        for subject in arm.subjects:
            ax.plot(
                x,
                subject.values,
                color=style.colour,
                alpha=0.4,
                linewidth=0.8,
                marker="o",
                markersize=2.8,
                zorder=1,
            )
        draw_arm_means(ax, x, arm, style, linewidth=2.4, markersize=7)
        ticks.extend(x)
        tick_labels.extend(visit_label(v) for v in facts.visits)
        ax.text(
            float(x.mean()),
            -0.13,
            arm.label,
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="top",
            color=style.colour,
            fontweight="bold",
            fontsize=9,
        )
    ax.set_xticks(ticks, tick_labels)
    ax.set_xlim(min(ticks, default=0) - 0.45, max(ticks, default=1) + 0.45)
    ax.set_ylabel(facts.axis_label)
    ax.grid(axis="y", color="#E5E5E5", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    ax.set_title(f"{letter}   {facts.title}", loc="left")
    p_text = format_p(facts.pvalue)
    if p_text and facts.has_data:
        # headroom above the highest point (mean + SE included) keeps the p clear of the data
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.14 * (hi - lo))
        ax.text(
            0.5,
            0.98,
            f"arm × time {p_text}",
            transform=ax.transAxes,
            ha="center",
            va="top",
            fontsize=9.5,
        )
    if not facts.has_data:
        mark_no_values(ax)
        ax.set_yticks([])


def draw_tcells(facts: Figure2Facts) -> Figure:
    """Draw Figure 2 from its facts (one panel per T-cell parameter, one legend below).

    Returns
    -------
    matplotlib.figure.Figure
        Not yet rendered; see :func:`saatrial.report.figures.style.render`.
    """
    styles, sizes = panel_arm_styles(facts.panels)
    with figure_style():
        fig = Figure(figsize=(12.0, 4.9), layout="constrained")
        axes = fig.subplots(1, max(len(facts.panels), 1), squeeze=False).ravel()
        for i, (ax, panel) in enumerate(zip(axes, facts.panels, strict=False)):
            _draw_panel(ax, panel, styles, PANEL_LETTERS[i])
        add_arm_legend(fig, styles, sizes)
    return fig


def tcells_figure(
    adlb: pd.DataFrame,
    adsl: pd.DataFrame | None = None,
    pvalues: Mapping[str, float | None] | None = None,
    visits: Sequence[str] = DEFAULT_VISITS,
) -> BuiltFigure:
    """Figure 2: T-cell subsets before and after treatment by arm.

    Parameters
    ----------
    adlb : pandas.DataFrame
        ADLB.
    adsl : pandas.DataFrame, optional
        ADSL, for the arms and their sizes.
    pvalues : Mapping, optional
        ``{"CD3CD4_pct": p, "CD3CD8_pct": p, "TREG_pct": p}``: arm x time
        interaction p, printed as given.
    visits : sequence of str, default ("BASELINE", "D40")

    Returns
    -------
    BuiltFigure
        Key ``figure2_tcells``; facts :class:`Figure2Facts`.

    Examples
    --------
    >>> adlb = pd.DataFrame({"SUBJID": ["A", "A"], "ARMCD": ["MSC"] * 2,
    ...     "TRTP": ["UC-MSC + IST"] * 2, "PARAMCD": ["TREGPCT"] * 2,
    ...     "AVISIT": ["BASELINE", "D40"], "ANL01FL": ["Y"] * 2, "AVAL": [4.5, 5.5],
    ...     "AVALU": ["% of CD4+"] * 2})
    >>> built = tcells_figure(adlb, pvalues={"TREG_pct": 0.165})
    >>> built.figure.key, [p.paramcd for p in built.facts.panels]
    ('figure2_tcells', ['CD4PCT', 'CD8PCT', 'TREGPCT'])
    >>> [(v.visit, v.mean) for v in built.facts.panels[2].arms[0].visits]
    [('BASELINE', 4.5), ('D40', 5.5)]
    """
    facts = tcells_facts(adlb, adsl, pvalues, visits)
    return built_figure(
        facts,
        draw_tcells,
        key=KEY,
        title="Figure 2. T-cell subsets before and after treatment by arm",
        caption=_caption(facts),
        alt=_alt(facts),
        notices=repeated_notices(KEY, facts.panels),
    )


def _caption(facts: Figure2Facts) -> str:
    first = facts.panels[0] if facts.panels else None
    arms = ", ".join(f"{a.label} n = {a.n_subjects}" for a in first.arms) if first else ""
    visits = " and ".join(visit_label(v).lower() for v in first.visits) if first else ""
    text = (
        f"Percentages of {', '.join(p.title for p in facts.panels)} in peripheral blood "
        f"(flow cytometry) at {visits} ({arms}). Thin lines join each patient's values; "
        "thick lines: arm mean ± standard error."
    )
    ps = [f"{p.title} {format_p(p.pvalue)}" for p in facts.panels if format_p(p.pvalue)]
    if ps:
        text += " Two-factor repeated-measures ANOVA, arm × time interaction: " + "; ".join(ps)
        text += "."
    return text


def _alt(facts: Figure2Facts) -> str:
    parts = []
    for panel in facts.panels:
        arm_texts = [
            f"{arm.label}: "
            + ", ".join(
                f"{visit_label(v.visit)} {v.mean:.3g}%" if v.n else f"{visit_label(v.visit)} none"
                for v in arm.visits
            )
            for arm in panel.arms
        ]
        parts.append(f"{panel.title} means - " + "; ".join(arm_texts))
    return "Paired before/after plots of T-cell subsets by arm. " + ". ".join(parts) + "."
