"""Swimmer plot: one lane per patient from the first rATG dose to the end of follow-up.

Lanes are grouped by arm and sorted by follow-up (longest first). Each lane
shows the rATG course (days 1-5, D7), the UC-MSC doses (from ``exposures``),
the response assessments coloured by category (ADRS), HSCT, death, loss to
follow-up, and an arrow for patients still alive and followed at the data
cut-off. The x axis is in months (days / 30.4375, TRIAL.md 5) and is split:
the first 7 months (treatment and the day 40 / 90 / 180 assessments, D9
windows end by day 210) on a wider scale, the long-term follow-up after it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from saatrial.report.figures.common import BuiltFigure, arm_labels, built_figure, months_between
from saatrial.report.figures.style import (
    DAYS_PER_MONTH,
    INK,
    MUTED,
    OKABE_ITO,
    RESPONSE_STYLE,
    ArmStyle,
    arm_styles,
    figure_style,
    visit_label,
)
from saatrial.report.model import Notice

__all__ = [
    "KEY",
    "Lane",
    "ResponseMark",
    "SwimmerFacts",
    "draw_swimmer",
    "swimmer_facts",
    "swimmer_figure",
]

KEY = "swimmer"
#: Where the x axis changes scale (months): after the day-180 window (D9: +30 days).
BREAK_MONTHS = 7.0
_RATG_DAYS = 5  # D7 / TRIAL.md 2: rATG days 1-5 (the lane shows the recorded course when known)


@dataclass(frozen=True)
class ResponseMark:
    """One response assessment on a lane (months from day 1, category)."""

    visit: str
    month: float
    category: str


@dataclass(frozen=True)
class Lane:
    """One patient's lane.

    Attributes
    ----------
    subject_id, arm : str
    follow_up_months : float
        Lane length: OS time (death or last known alive), ADTTE ``OS.AVAL``.
    ratg_months : tuple of float
        Start and end of the rATG course (months).
    msc_dose_months : tuple of float
        UC-MSC administrations.
    responses : tuple of ResponseMark
        Computed responses (ADRS ``RSP``) with an assessment date before death.
    hsct_month, death_month, lost_month : float or None
        Salvage HSCT, death, loss to follow-up (months).
    ongoing : bool
        Alive and followed at the end of the lane (censored, not lost): arrow.
    """

    subject_id: str
    arm: str
    follow_up_months: float
    ratg_months: tuple[float, float] | None
    msc_dose_months: tuple[float, ...]
    responses: tuple[ResponseMark, ...]
    hsct_month: float | None
    death_month: float | None
    lost_month: float | None
    ongoing: bool


@dataclass(frozen=True)
class SwimmerFacts:
    """What the swimmer plot shows.

    Attributes
    ----------
    arms : dict
        Arm code -> label, in drawing order.
    lanes : tuple of Lane
        Top to bottom: arms in order, each by follow-up, longest first.
    doses_known : bool
        False when no exposure records were supplied (doses not drawn).
    left_out : tuple of str
        Subjects without a time origin (no first rATG dose) or follow-up.
    """

    arms: dict[str, str]
    lanes: tuple[Lane, ...]
    doses_known: bool
    left_out: tuple[str, ...]

    def lanes_of(self, arm: str) -> tuple[Lane, ...]:
        """The lanes of one arm, top to bottom."""
        return tuple(lane for lane in self.lanes if lane.arm == arm)


def _opt(value: float) -> float | None:
    return None if math.isnan(value) else value


def swimmer_facts(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    adrs: pd.DataFrame,
    exposures: pd.DataFrame | None = None,
) -> SwimmerFacts:
    """One lane per patient from ADSL, ADTTE (OS), ADRS and the exposures table.

    Parameters
    ----------
    adsl : pandas.DataFrame
        ADSL (``SUBJID, ARMCD, ARM, TRTSDT, DTHDT, HSCTDT, LTFUFL, LTFUDT``).
    adtte : pandas.DataFrame
        ADTTE; the ``OS`` rows give the lane length and whether it is censored.
    adrs : pandas.DataFrame
        ADRS; the ``RSP`` rows with an assessment date are drawn.
    exposures : pandas.DataFrame, optional
        The study's ``exposures`` table (``subject_id, drug, start_date,
        end_date``): rATG course and UC-MSC doses. Without it the rATG course
        is drawn as days 1-5 (D7) and no doses are shown.

    Returns
    -------
    SwimmerFacts
    """
    labels = arm_labels(adsl)
    styles = arm_styles(labels)
    os_by_subject = {
        str(r["SUBJID"]): (float(r["AVAL"]), int(r["CNSR"]))
        for _, r in adtte[adtte["PARAMCD"] == "OS"].iterrows()
        if pd.notna(r["AVAL"]) and pd.notna(r["CNSR"])
    }
    rsp = adrs[(adrs["PARAMCD"] == "RSP") & adrs["ADT"].notna()] if len(adrs) else adrs
    lanes: list[Lane] = []
    left_out: list[str] = []
    for _, row in adsl.iterrows():
        sid = str(row["SUBJID"])
        day1 = row["TRTSDT"]
        if pd.isna(day1) or sid not in os_by_subject or not isinstance(row["ARMCD"], str):
            left_out.append(sid)
            continue
        follow_up, os_censor = os_by_subject[sid]
        death = _opt(months_between(day1, row["DTHDT"]))
        ratg, doses = _exposure_months(exposures, sid, day1)
        responses = tuple(
            ResponseMark(str(r["AVISIT"]), months_between(day1, r["ADT"]), str(r["AVALC"]))
            for _, r in rsp[rsp["SUBJID"] == sid].sort_values("ADT").iterrows()
            # an NR "by death" sits on the death marker: the death is drawn instead
            if death is None or months_between(day1, r["ADT"]) < death
        )
        lost = row["LTFUFL"] == "Y"
        lanes.append(
            Lane(
                subject_id=sid,
                arm=str(row["ARMCD"]),
                follow_up_months=follow_up,
                ratg_months=ratg,
                msc_dose_months=doses,
                responses=responses,
                hsct_month=_opt(months_between(day1, row["HSCTDT"])),
                death_month=death,
                lost_month=follow_up if lost else None,
                ongoing=os_censor == 1 and not lost,
            )
        )
    order = {code: i for i, code in enumerate(styles)}
    lanes.sort(key=lambda lane: (order[lane.arm], -lane.follow_up_months, lane.subject_id))
    return SwimmerFacts(
        arms={code: s.label for code, s in styles.items()},
        lanes=tuple(lanes),
        doses_known=exposures is not None,
        left_out=tuple(left_out),
    )


def _exposure_months(
    exposures: pd.DataFrame | None, sid: str, day1: pd.Timestamp
) -> tuple[tuple[float, float] | None, tuple[float, ...]]:
    if exposures is None:
        return (0.0, (_RATG_DAYS - 1) / DAYS_PER_MONTH), ()  # D7: rATG days 1-5
    mine = exposures[exposures["subject_id"] == sid]
    ratg_rows = mine[mine["drug"] == "RATG"]
    ratg = None
    if len(ratg_rows):
        ratg = (
            months_between(day1, ratg_rows["start_date"].min()),
            months_between(day1, ratg_rows["end_date"].max()),
        )
    doses: list[float] = []
    for _, r in mine[mine["drug"] == "UCMSC"].sort_values("start_date").iterrows():
        for day in pd.date_range(r["start_date"], r["end_date"], freq="D"):
            doses.append(months_between(day1, day))
    return ratg, tuple(doses)


def swimmer_figure(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    adrs: pd.DataFrame,
    exposures: pd.DataFrame | None = None,
) -> BuiltFigure:
    """Swimmer plot of every patient's course.

    Parameters
    ----------
    adsl, adtte, adrs : pandas.DataFrame
        Analysis datasets.
    exposures : pandas.DataFrame, optional
        The study's ``exposures`` table (UC-MSC doses). Without it a notice
        says the doses are not shown.

    Returns
    -------
    BuiltFigure
        Key ``swimmer``; facts :class:`SwimmerFacts`.

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> from saatrial.derive import derive_all
    >>> study = load_bundled_study()
    >>> ads = derive_all(study)
    >>> built = swimmer_figure(ads.adsl, ads.adtte, ads.adrs, study["exposures"])
    >>> lane = [x for x in built.facts.lanes if x.subject_id == "MSC06"][0]
    >>> len(lane.msc_dose_months), round(lane.death_month, 2)
    (3, 5.19)
    """
    facts = swimmer_facts(adsl, adtte, adrs, exposures)
    notices: list[Notice] = []
    if not facts.doses_known:
        notices.append(
            Notice(
                KEY,
                "exposures table not supplied: UC-MSC doses not shown; rATG drawn as days 1-5 (D7)",
            )
        )
    if facts.left_out:
        notices.append(
            Notice(
                KEY,
                f"no lane for {', '.join(facts.left_out)}: no first rATG dose "
                "(time origin, D7) or no survival record",
            )
        )
    if not facts.lanes:
        notices.append(Notice(KEY, "no patient with a time origin; swimmer plot empty"))
    return built_figure(
        facts,
        draw_swimmer,
        key=KEY,
        title="Figure 4. Course of each patient (swimmer plot)",
        caption=_caption(facts),
        alt=_alt(facts),
        notices=notices,
    )


def _lane_y(facts: SwimmerFacts) -> tuple[dict[str, float], list[tuple[str, float, float]]]:
    """y of each lane (top = highest) with a gap between arms; arm spans for labels."""
    y_of: dict[str, float] = {}
    spans: list[tuple[str, float, float]] = []
    y = 0.0
    for arm in facts.arms:
        lanes = facts.lanes_of(arm)
        if not lanes:
            continue
        top = y
        for lane in lanes:
            y_of[lane.subject_id] = -y
            y += 1.0
        spans.append((arm, -top, -(y - 1.0)))
        y += 0.9  # gap between arms
    return y_of, spans


#: Marker styles of the lane events (one matplotlib line per kind and panel).
_MARKS: dict[str, dict[str, Any]] = {
    "hsct": {
        "marker": "*",
        "markersize": 12,
        "markerfacecolor": OKABE_ITO["purple"],
        "markeredgecolor": INK,
        "markeredgewidth": 0.6,
        "zorder": 6,
    },
    "death": {
        "marker": "X",
        "markersize": 9.5,
        "color": INK,
        "markeredgecolor": "white",
        "markeredgewidth": 0.5,
        "zorder": 6,
    },
    "lost": {
        "marker": "s",
        "markersize": 7.5,
        "markerfacecolor": "white",
        "markeredgecolor": INK,
        "markeredgewidth": 1.4,
        "zorder": 6,
    },
    "ongoing": {"marker": ">", "markersize": 7, "color": INK, "zorder": 6},
}


def _mark_style(kind: str, styles: Mapping[str, ArmStyle]) -> dict[str, Any]:
    if kind.startswith("dose:"):
        return {
            "marker": "D",
            "markersize": 5.2,
            "markerfacecolor": styles[kind[5:]].colour,
            "markeredgecolor": INK,
            "markeredgewidth": 0.7,
            "zorder": 4,
        }
    if kind.startswith("response:"):
        st = RESPONSE_STYLE.get(kind[9:], RESPONSE_STYLE["NE"])
        return {
            "marker": st["marker"],
            "markersize": 7.5,
            "markerfacecolor": st["face"],
            "markeredgecolor": st["edge"],
            "markeredgewidth": 1.0,
            "zorder": 5,
        }
    return _MARKS[kind]


def _draw_lanes(
    ax: Axes, facts: SwimmerFacts, styles: Mapping[str, ArmStyle], window: tuple[float, float]
) -> None:
    """Lanes and markers; only markers inside ``window`` (months, lower bound open unless 0).

    Markers are not clipped, so one at the edge of a panel shows whole; each
    is drawn in exactly one of the two panels. Points of one kind are drawn
    as one line (fast to render, small SVG).
    """
    lo, hi = window
    y_of, _ = _lane_y(facts)
    points: dict[str, list[tuple[float, float]]] = {}

    def add(kind: str, x: float | None, y: float) -> None:
        if x is not None and (lo <= x if lo == 0 else lo < x) and x <= hi:
            points.setdefault(kind, []).append((x, y))

    for arm in facts.arms:
        lanes = facts.lanes_of(arm)
        if not lanes:
            continue
        colour = styles[arm].colour
        ys = [y_of[lane.subject_id] for lane in lanes]
        ax.barh(
            ys,
            [lane.follow_up_months for lane in lanes],
            left=0,
            height=0.56,
            color=colour,
            alpha=0.22,
            edgecolor=colour,
            linewidth=0.6,
            zorder=1,
        )
    ratg = [lane for lane in facts.lanes if lane.ratg_months is not None]
    if ratg:
        ax.barh(
            [y_of[lane.subject_id] for lane in ratg],
            [
                lane.ratg_months[1] - lane.ratg_months[0] + 1 / DAYS_PER_MONTH
                for lane in ratg
                if lane.ratg_months is not None
            ],
            left=[lane.ratg_months[0] for lane in ratg if lane.ratg_months is not None],
            height=0.56,
            color=INK,
            zorder=2,
        )
    for lane in facts.lanes:
        y = y_of[lane.subject_id]
        for x in lane.msc_dose_months:
            add(f"dose:{lane.arm}", x, y)
        for m in lane.responses:
            add(f"response:{m.category}", m.month, y)
        add("hsct", lane.hsct_month, y)
        add("death", lane.death_month, y)
        add("lost", lane.lost_month, y)
        if lane.ongoing:
            add("ongoing", lane.follow_up_months, y)
    for kind in sorted(points):
        xy = points[kind]
        ax.plot(
            [p[0] for p in xy],
            [p[1] for p in xy],
            linestyle="none",
            clip_on=False,
            **_mark_style(kind, styles),
        )


def draw_swimmer(facts: SwimmerFacts) -> Figure:
    """Draw the figure from its facts (not yet rendered; see ``style.render``)."""
    with figure_style():
        return _draw(facts)


def _draw(facts: SwimmerFacts) -> Figure:
    styles = arm_styles(facts.arms)
    n_lanes = max(len(facts.lanes), 1)
    fig = Figure(figsize=(11.0, 2.4 + 0.34 * n_lanes + 0.3 * len(facts.arms)), layout="constrained")
    longest = max((lane.follow_up_months for lane in facts.lanes), default=12.0)
    x_max = max(BREAK_MONTHS + 6.0, 6.0 * math.ceil((longest + 1.0) / 6.0))
    grid = fig.add_gridspec(1, 2, width_ratios=[1.15, 1.0], wspace=0.0)
    left = fig.add_subplot(grid[0])
    right = fig.add_subplot(grid[1], sharey=left)
    for ax, window in ((left, (0.0, BREAK_MONTHS)), (right, (BREAK_MONTHS, math.inf))):
        _draw_lanes(ax, facts, styles, window)
        ax.grid(axis="x", color="#E8E8E8", linewidth=0.6, zorder=0)
        ax.set_axisbelow(True)
    left.set_xlim(0, BREAK_MONTHS)
    left.set_xticks(np.arange(0, BREAK_MONTHS + 0.1, 1.0))
    right.set_xlim(BREAK_MONTHS, x_max)
    right.set_xticks(np.arange(12.0, x_max + 0.1, 6.0 if x_max <= 36 else 12.0))
    right.spines["left"].set_visible(False)
    right.tick_params(axis="y", left=False, labelleft=False)
    left.spines["right"].set_visible(False)
    _break_marks(left, right)
    left.set_title("Treatment and response (months 0–7)", loc="left", fontsize=10)
    right.set_title("Long-term follow-up (compressed scale)", loc="left", fontsize=10)
    fig.supxlabel("Months since the first rATG dose", fontsize=10)
    y_of, spans = _lane_y(facts)
    left.set_yticks(list(y_of.values()), list(y_of.keys()), fontsize=8.5)
    for tick in left.get_yticklabels():
        lane_arm = next(lane.arm for lane in facts.lanes if lane.subject_id == tick.get_text())
        tick.set_color(styles[lane_arm].colour)
    left.tick_params(axis="y", length=0)
    for arm, top, bottom in spans:
        left.annotate(
            facts.arms[arm],
            xy=(0, (top + bottom) / 2),
            xycoords=("axes fraction", "data"),
            xytext=(-52, 0),
            textcoords="offset points",
            rotation=90,
            ha="center",
            va="center",
            fontweight="bold",
            color=styles[arm].colour,
        )
    if facts.lanes:
        left.set_ylim(min(y_of.values()) - 0.7, 0.7)
    else:
        left.text(0.5, 0.5, "no patients", transform=left.transAxes, ha="center", color=MUTED)
    fig.legend(
        handles=_legend_handles(facts, styles),
        loc="outside upper center",
        ncols=6,
        fontsize=8.5,
        handletextpad=0.4,
        columnspacing=1.4,
    )
    return fig


def _break_marks(left: Axes, right: Axes) -> None:
    """Diagonal marks where the x axis changes scale."""
    kwargs: dict[str, Any] = {
        "marker": [(-1, -1.6), (1, 1.6)],
        "markersize": 9,
        "linestyle": "none",
        "color": INK,
        "mec": INK,
        "mew": 1,
        "clip_on": False,
    }
    left.plot([1], [0], transform=left.transAxes, **kwargs)
    right.plot([0], [0], transform=right.transAxes, **kwargs)


def _legend_handles(facts: SwimmerFacts, styles: Mapping[str, ArmStyle]) -> list[Artist]:
    """Legend entries for the arms and for every kind of marker that is drawn."""
    handles: list[Artist] = [
        Patch(
            facecolor=s.colour,
            alpha=0.3,
            edgecolor=s.colour,
            label=f"{s.label} (n = {len(facts.lanes_of(code))})",
        )
        for code, s in styles.items()
    ]
    if any(lane.ratg_months is not None for lane in facts.lanes):
        handles.append(Patch(facecolor=INK, label="rATG days 1–5"))
    dosed = [lane.arm for lane in facts.lanes if lane.msc_dose_months]
    kinds: list[tuple[str, str]] = []
    if dosed:
        kinds.append((f"dose:{dosed[0]}", "UC-MSC dose"))
    shown = {m.category for lane in facts.lanes for m in lane.responses}
    for category in ("CR", "PR", "NR", "NE"):
        if category in shown:
            kinds.append((f"response:{category}", RESPONSE_STYLE[category]["label"]))
    events = {
        "hsct": any(lane.hsct_month is not None for lane in facts.lanes),
        "death": any(lane.death_month is not None for lane in facts.lanes),
        "lost": any(lane.lost_month is not None for lane in facts.lanes),
        "ongoing": any(lane.ongoing for lane in facts.lanes),
    }
    names = {
        "hsct": "HSCT",
        "death": "death",
        "lost": "lost to follow-up",
        "ongoing": "alive at cut-off",
    }
    kinds.extend((kind, names[kind]) for kind, present in events.items() if present)
    for kind, label in kinds:
        style = {k: v for k, v in _mark_style(kind, styles).items() if k != "zorder"}
        handles.append(Line2D([], [], linestyle="none", label=label, **style))
    return handles


def _caption(facts: SwimmerFacts) -> str:
    counts = "; ".join(
        f"{label}: {len(facts.lanes_of(code))} patients" for code, label in facts.arms.items()
    )
    visits = sorted(
        {m.visit for lane in facts.lanes for m in lane.responses},
        key=lambda v: int(v[1:]) if v[1:].isdigit() else 0,
    )
    text = (
        f"One lane per patient ({counts}), from the first rATG dose to death or the last "
        "date known alive; sorted by arm and follow-up. Markers: rATG course, "
        + ("UC-MSC doses, " if facts.doses_known else "")
        + "haematologic response at "
        + (", ".join(visit_label(v).lower() for v in visits) or "no visit")
        + " (computed by the protocol's criteria), salvage HSCT, death, loss to follow-up; "
        "an arrow marks patients alive and followed at the data cut-off. The x axis is "
        f"expanded for the first {BREAK_MONTHS:g} months."
    )
    return text


def _alt(facts: SwimmerFacts) -> str:
    parts = []
    for lane in facts.lanes:
        bits = [f"{lane.subject_id} ({facts.arms[lane.arm]}): {lane.follow_up_months:.1f} months"]
        if lane.responses:
            bits.append("responses " + ", ".join(f"{m.visit} {m.category}" for m in lane.responses))
        if lane.hsct_month is not None:
            bits.append(f"HSCT at {lane.hsct_month:.1f}")
        if lane.death_month is not None:
            bits.append(f"died at {lane.death_month:.1f}")
        if lane.lost_month is not None:
            bits.append(f"lost to follow-up at {lane.lost_month:.1f}")
        parts.append(", ".join(bits))
    return "Swimmer plot. " + "; ".join(parts) + "."
