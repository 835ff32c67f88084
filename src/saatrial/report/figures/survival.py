"""Figure 3: Kaplan-Meier curves of failure-free and overall survival by arm.

One figure per ADTTE parameter (``FFS``, ``OS``): step curves by arm with a
tick at each censoring, the numbers at risk under the axis at 0, 12, 24, 36
and 48 months, the log-rank p supplied by the caller, and each arm's
estimate ± Greenwood SE at 4 years (TRIAL.md 5). Curves, numbers at risk and
the 4-year estimates are computed here with
:func:`saatrial.stats.kaplan_meier` from ADTTE (``AVAL`` months, ``CNSR``
0 = event).

References
----------
.. [1] Kaplan EL, Meier P. Nonparametric estimation from incomplete
   observations. J Am Stat Assoc 1958;53:457-481.
.. [2] Pocock SJ, Clayton TC, Altman DG. Survival plots of time-to-event
   outcomes in clinical trials: good practice and pitfalls. Lancet
   2002;359:1686-1689 (numbers at risk under the axis, censoring marks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from saatrial.report.figures.common import BuiltFigure, arm_labels, built_figure
from saatrial.report.figures.style import (
    MUTED,
    ArmStyle,
    arm_styles,
    figure_style,
    format_p,
)
from saatrial.report.model import Notice
from saatrial.stats import format_number, kaplan_meier

__all__ = [
    "KEYS",
    "RISK_TIMES",
    "KmArmFacts",
    "KmFacts",
    "draw_km",
    "km_facts",
    "km_figure",
]

#: ADTTE parameter -> figure key.
KEYS = {"FFS": "figure3_ffs", "OS": "figure3_os"}
_ENDPOINT = {"FFS": "Failure-free survival", "OS": "Overall survival"}
#: Times (months) of the numbers-at-risk table.
RISK_TIMES = (0.0, 12.0, 24.0, 36.0, 48.0)
#: TRIAL.md 5: survival estimate ± SE at 4 years = 48 months.
LANDMARK_MONTHS = 48.0


@dataclass(frozen=True)
class KmArmFacts:
    """What the figure prints for one arm.

    Attributes
    ----------
    arm, label : str
        Arm code and label.
    n, events, censored : int
        Subjects, events (``CNSR == 0``) and censored subjects.
    at_risk : tuple of int
        Numbers at risk at :attr:`KmFacts.risk_times` (observed time >= t).
    landmark_estimate, landmark_se : float or None
        Kaplan-Meier S(landmark) and its Greenwood SE; ``None`` when follow-up
        ends before the landmark (SE ``None`` also when S is 0).
    max_time : float
        Longest observed time (months).
    time, survival : tuple of float
        The step curve: distinct times and S after each (starts at time 0, S 1).
    censor_time, censor_survival : tuple of float
        Where the censoring ticks go.
    """

    arm: str
    label: str
    n: int
    events: int
    censored: int
    at_risk: tuple[int, ...]
    landmark_estimate: float | None
    landmark_se: float | None
    max_time: float
    time: tuple[float, ...]
    survival: tuple[float, ...]
    censor_time: tuple[float, ...]
    censor_survival: tuple[float, ...]

    def landmark_text(self) -> str | None:
        """The estimate as printed, e.g. ``"38.1 ± 17.2%"``; ``None`` if not estimable."""
        if self.landmark_estimate is None:
            return None
        estimate = format_number(100 * self.landmark_estimate, 1)
        if self.landmark_se is None or math.isnan(self.landmark_se):
            return f"{estimate}%"
        return f"{estimate} ± {format_number(100 * self.landmark_se, 1)}%"


@dataclass(frozen=True)
class KmFacts:
    """What one Kaplan-Meier figure prints.

    Attributes
    ----------
    paramcd : str
        ``FFS`` or ``OS``.
    endpoint : str
        Endpoint in words.
    risk_times : tuple of float
        Months of the at-risk table.
    landmark : float
        Months of the printed estimate (48).
    pvalue : float or None
        Log-rank p as supplied by the caller.
    arms : tuple of KmArmFacts
        In drawing order.
    """

    paramcd: str
    endpoint: str
    risk_times: tuple[float, ...]
    landmark: float
    pvalue: float | None
    arms: tuple[KmArmFacts, ...]


def _landmark_name(months: float) -> str:
    if months % 12 == 0:
        return f"{int(months // 12)}-year"
    return f"{months:g}-month"


def km_facts(
    adtte: pd.DataFrame,
    paramcd: str,
    pvalue: float | None = None,
    *,
    risk_times: tuple[float, ...] = RISK_TIMES,
    landmark: float = LANDMARK_MONTHS,
) -> KmFacts:
    """Kaplan-Meier curves, numbers at risk and landmark estimates by arm, from ADTTE.

    Parameters
    ----------
    adtte : pandas.DataFrame
        ADTTE (``SUBJID, ARMCD, TRTP, PARAMCD, AVAL, CNSR``).
    paramcd : str
        ``"FFS"`` or ``"OS"`` (any ADTTE parameter works).
    pvalue : float, optional
        Log-rank p as computed by the analysis (printed as given).
    risk_times : tuple of float
        Months of the at-risk table.
    landmark : float, default 48
        Months at which estimate ± SE is printed.

    Returns
    -------
    KmFacts

    Examples
    --------
    >>> adtte = pd.DataFrame({"SUBJID": list("ABCD"), "ARMCD": ["X"] * 4, "TRTP": ["X"] * 4,
    ...     "PARAMCD": ["OS"] * 4, "AVAL": [6.0, 13.0, 30.0, 50.0], "CNSR": [0, 1, 0, 1]})
    >>> f = km_facts(adtte, "OS")
    >>> arm = f.arms[0]
    >>> arm.at_risk, round(arm.landmark_estimate, 4), arm.landmark_text()
    ((4, 3, 2, 1, 1), 0.375, '37.5 ± 28.6%')
    """
    rows = adtte[(adtte["PARAMCD"] == paramcd) & adtte["AVAL"].notna() & adtte["CNSR"].notna()]
    labels = arm_labels(rows)
    arms: list[KmArmFacts] = []
    for style in arm_styles(labels).values():
        in_arm = rows[rows["ARMCD"] == style.code]
        time = in_arm["AVAL"].to_numpy(dtype=float)
        event = (in_arm["CNSR"].astype(int) == 0).to_numpy()
        km = kaplan_meier(time, event)
        at_risk = tuple(int(v) for v in km.at_risk_table(list(risk_times))["n_at_risk"])
        max_time = float(time.max())
        estimable = max_time >= landmark or float(km.survival[-1]) == 0.0
        estimate: float | None = None
        se: float | None = None
        if estimable:
            at = km.at(landmark)
            estimate = float(at.estimate)
            se = None if math.isnan(at.se) else float(at.se)
        censored_at = km.time[km.n_censored > 0]
        arms.append(
            KmArmFacts(
                arm=style.code,
                label=style.label,
                n=int(time.size),
                events=int(event.sum()),
                censored=int((~event).sum()),
                at_risk=at_risk,
                landmark_estimate=estimate,
                landmark_se=se,
                max_time=max_time,
                time=(0.0, *(float(t) for t in km.time)),
                survival=(1.0, *(float(s) for s in km.survival)),
                censor_time=tuple(float(t) for t in censored_at),
                censor_survival=tuple(float(km.at(t).estimate) for t in censored_at),
            )
        )
    return KmFacts(
        paramcd=paramcd,
        endpoint=_ENDPOINT.get(paramcd, paramcd),
        risk_times=tuple(float(t) for t in risk_times),
        landmark=float(landmark),
        pvalue=None if pvalue is None or pd.isna(pvalue) else float(pvalue),
        arms=tuple(arms),
    )


def km_figure(
    adtte: pd.DataFrame,
    paramcd: str,
    pvalue: float | None = None,
    *,
    risk_times: tuple[float, ...] = RISK_TIMES,
    landmark: float = LANDMARK_MONTHS,
) -> BuiltFigure:
    """Figure 3: Kaplan-Meier curves of one endpoint by arm, with numbers at risk.

    Parameters
    ----------
    adtte : pandas.DataFrame
        ADTTE (:mod:`saatrial.derive.adtte`).
    paramcd : str
        ``"FFS"`` (key ``figure3_ffs``) or ``"OS"`` (key ``figure3_os``).
    pvalue : float, optional
        Log-rank p from the analysis; printed as given, nothing when None.
    risk_times : tuple of float, default (0, 12, 24, 36, 48)
        Months of the numbers-at-risk table.
    landmark : float, default 48
        Months of the printed estimate ± SE.

    Returns
    -------
    BuiltFigure
        Facts :class:`KmFacts`; notices when there are no data, only one arm,
        or an arm's follow-up ends before the landmark.

    Examples
    --------
    >>> adtte = pd.DataFrame({"SUBJID": list("ABCDE"), "ARMCD": ["MSC"] * 3 + ["CONTROL"] * 2,
    ...     "TRTP": ["UC-MSC + IST"] * 3 + ["IST alone"] * 2, "PARAMCD": ["FFS"] * 5,
    ...     "AVAL": [5.0, 20.0, 50.0, 30.0, 49.0], "CNSR": [0, 1, 1, 0, 1]})
    >>> built = km_figure(adtte, "FFS", 0.153)
    >>> [(a.arm, a.at_risk, a.landmark_text()) for a in built.facts.arms]
    [('MSC', (3, 2, 1, 1, 1), '66.7 ± 27.2%'), ('CONTROL', (2, 2, 2, 1, 1), '50.0 ± 35.4%')]
    >>> built.figure.key, built.notices
    ('figure3_ffs', ())
    """
    facts = km_facts(adtte, paramcd, pvalue, risk_times=risk_times, landmark=landmark)
    key = KEYS.get(paramcd, f"figure3_{paramcd.lower()}")
    return built_figure(
        facts,
        draw_km,
        key=key,
        title=f"Figure 3{'a' if paramcd == 'FFS' else 'b' if paramcd == 'OS' else ''}. "
        f"Kaplan-Meier estimate of {facts.endpoint.lower()} by arm",
        caption=_caption(facts),
        alt=_alt(facts),
        notices=_notices(facts, key),
    )


def _x_max(facts: KmFacts) -> float:
    longest = max((a.max_time for a in facts.arms), default=0.0)
    return max(facts.risk_times[-1], facts.landmark, 12.0 * math.ceil(longest / 12.0))


def draw_km(facts: KmFacts) -> Figure:
    """Draw the figure from its facts (not yet rendered; see ``style.render``)."""
    with figure_style():
        return _draw(facts)


def _draw(facts: KmFacts) -> Figure:
    styles = arm_styles({a.arm: a.label for a in facts.arms})
    n_arms = max(len(facts.arms), 1)
    fig = Figure(figsize=(8.0, 5.6 + 0.28 * n_arms), layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=[5.0, 0.55 + 0.32 * n_arms])
    ax = fig.add_subplot(grid[0])
    risk_ax = fig.add_subplot(grid[1], sharex=ax)
    x_max = _x_max(facts)
    handles: list[Line2D] = []
    for arm in facts.arms:
        style = styles[arm.arm]
        times = [*arm.time, arm.max_time]
        surv = [100.0 * s for s in (*arm.survival, arm.survival[-1])]
        (line,) = ax.step(
            times,
            surv,
            where="post",
            color=style.colour,
            linestyle=style.linestyle,
            linewidth=2.0,
            zorder=3,
        )
        ax.plot(
            arm.censor_time,
            [100.0 * s for s in arm.censor_survival],
            linestyle="none",
            marker="|",
            markersize=11,
            markeredgewidth=1.6,
            color=style.colour,
            zorder=4,
        )
        text = arm.landmark_text()
        label = f"{arm.label} (n = {arm.n}; {arm.events} event{'s' if arm.events != 1 else ''})"
        if text:
            label += f"\n{_landmark_name(facts.landmark)} {facts.paramcd}: {text}"
        line.set_label(label)
        handles.append(line)
    if facts.arms:
        handles.append(
            Line2D(
                [],
                [],
                color=MUTED,
                linestyle="none",
                marker="|",
                markersize=11,
                markeredgewidth=1.6,
                label="censored",
            )
        )
    ax.axvline(facts.landmark, color="#BBBBBB", linewidth=0.8, linestyle=":", zorder=1)
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, 104)
    ax.set_yticks(range(0, 101, 20))
    ax.set_xticks(np.arange(0, x_max + 0.1, 12.0))
    ax.set_ylabel(f"{facts.endpoint} (%)")
    ax.set_xlabel("Months since the first rATG dose")
    ax.tick_params(labelbottom=True)
    ax.grid(axis="y", color="#EEEEEE", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    ax.set_title(facts.endpoint, loc="left")
    p_text = format_p(facts.pvalue) if len(facts.arms) >= 2 else None
    if facts.arms:
        legend = ax.legend(
            handles=handles,
            loc="best",
            title=f"Log-rank {p_text}" if p_text else None,
            alignment="left",
            handlelength=2.6,
            labelspacing=0.8,
        )
        if legend.get_title():
            legend.get_title().set_fontweight("bold")
    else:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color=MUTED)
    _draw_risk_table(risk_ax, facts, styles)
    return fig


def _draw_risk_table(ax: Axes, facts: KmFacts, styles: Mapping[str, ArmStyle]) -> None:
    n = len(facts.arms)
    for row, arm in enumerate(facts.arms):
        y = n - 1 - row
        for t, count in zip(facts.risk_times, arm.at_risk, strict=True):
            ax.text(t, y, str(count), ha="center", va="center", color=styles[arm.arm].colour)
    ax.set_ylim(-0.6, max(n, 1) - 0.4)
    ax.set_yticks([n - 1 - i for i in range(n)], [a.label for a in facts.arms])
    for tick, arm in zip(ax.get_yticklabels(), facts.arms, strict=True):
        tick.set_color(styles[arm.arm].colour)
        tick.set_fontweight("bold")
    ax.tick_params(axis="y", length=0, pad=14)
    ax.tick_params(axis="x", bottom=False, labelbottom=False)
    for side in ("left", "bottom", "top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title("Number at risk", loc="left", fontsize=9.5, fontweight="bold")


def _notices(facts: KmFacts, key: str) -> tuple[Notice, ...]:
    out: list[Notice] = []
    if not facts.arms:
        out.append(Notice(key, f"{facts.endpoint}: no ADTTE records; no curve drawn"))
        return tuple(out)
    if len(facts.arms) == 1:
        out.append(Notice(key, f"{facts.endpoint}: one arm only; no between-arm comparison shown"))
    for arm in facts.arms:
        if arm.landmark_estimate is None:
            out.append(
                Notice(
                    key,
                    f"{facts.endpoint}, {arm.label}: follow-up ends at "
                    f"{arm.max_time:.1f} months, before {facts.landmark:g} months; "
                    f"no {_landmark_name(facts.landmark)} estimate",
                )
            )
    return tuple(out)


def _caption(facts: KmFacts) -> str:
    arms = "; ".join(
        f"{a.label}: n = {a.n}, {a.events} event{'s' if a.events != 1 else ''}"
        + (f", {_landmark_name(facts.landmark)} {a.landmark_text()}" if a.landmark_text() else "")
        for a in facts.arms
    )
    text = (
        f"Kaplan-Meier estimate of {facts.endpoint.lower()} from the first rATG dose "
        f"({arms}). Ticks mark censored patients; estimates are ± Greenwood standard error. "
        "Numbers at risk are patients still under observation at each time."
    )
    p_text = format_p(facts.pvalue) if len(facts.arms) >= 2 else None
    if p_text:
        text += f" Log-rank test {p_text}."
    return text


def _alt(facts: KmFacts) -> str:
    parts = []
    for a in facts.arms:
        risk = zip(facts.risk_times, a.at_risk, strict=True)
        text = (
            f"{a.label}: {a.n} patients, {a.events} event{'s' if a.events != 1 else ''}, "
            "at risk " + ", ".join(f"{c} at {t:g} months" for t, c in risk)
        )
        if a.landmark_text():
            text += f", {_landmark_name(facts.landmark)} estimate {a.landmark_text()}"
        parts.append(text)
    return f"Kaplan-Meier curves of {facts.endpoint.lower()} by arm. " + "; ".join(parts) + "."
