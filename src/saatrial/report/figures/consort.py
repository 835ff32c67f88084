"""CONSORT flow diagram: assessed, allocated, treated, followed and analysed, by arm.

Every count is computed from the data (CONSORT 2010 flow diagram):

- **Assessed for eligibility**: subjects with a screening record (the study's
  ``screening`` table when supplied, else every ADSL subject).
- **Excluded**: assessed but not allocated (no ADSL row with ``ITTFL``).
  Allocated subjects whom the protocol's eligibility rules find ineligible
  (ADSL ``ELIGFL = N``) or cannot judge (empty ``ELIGFL``) are listed too.
- **Allocated** to each arm: ADSL ``ITTFL = Y`` by ``ARMCD``.
- **Received allocated intervention**: actual treatment (``TRT01A``, from the
  exposures) equals the allocated arm; arms with UC-MSC also show how many
  received every planned dose (``MSCDOSN >= MSCDOSPL``, D7).
- **Follow-up**: lost to follow-up (``LTFUFL``), died (``DTHFL``), salvage HSCT
  (``HSCTFL``), alive and followed at the cut-off (OS censored, not lost).
- **Analysed**: subjects with a survival record (ADTTE, which needs the time
  origin, D7) and with an evaluable day-90 response (ADRS).

The boxes are drawn with matplotlib patches and arrows, sized from their text.

References
----------
.. [1] Schulz KF, Altman DG, Moher D; CONSORT Group. CONSORT 2010 Statement:
   updated guidelines for reporting parallel group randomised trials. BMJ
   2010;340:c332 (Figure: flow diagram of the progress through the phases).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from saatrial.report.figures.common import BuiltFigure, arm_labels, built_figure
from saatrial.report.figures.style import INK, arm_styles, figure_style
from saatrial.report.model import Notice

__all__ = [
    "KEY",
    "ArmFlow",
    "ConsortFacts",
    "consort_facts",
    "consort_figure",
    "draw_consort",
]

KEY = "consort"
#: Visit whose response counts as "analysed for response" (TRIAL.md 4: response at 90 days).
RESPONSE_VISIT = "D90"

_FONT_PT = 9.0
_LINE_IN = _FONT_PT * 1.32 / 72.0  # line height in inches
_CHAR_IN = _FONT_PT * 0.56 / 72.0  # generous mean character width of DejaVu Sans
_PAD_IN = 0.11
_STAGE_FILL = "#DCEAF5"


@dataclass(frozen=True)
class ArmFlow:
    """The counts of one arm's column.

    Attributes
    ----------
    arm, label : str
    allocated : int
        ADSL ``ITTFL = Y``.
    received : int
        Actual treatment equals the allocated arm.
    not_received : tuple of (str, int)
        Reason -> subjects, for those who did not receive it.
    msc_planned : int
        UC-MSC doses planned per subject (0 for arms without UC-MSC).
    msc_all_doses : int
        Subjects with every planned UC-MSC dose.
    lost, died, hsct, followed_at_cutoff : int
        Follow-up counts (see module docstring).
    analysed_survival : int
        Subjects with an OS/FFS record (ADTTE).
    analysed_response : int
        Subjects with an evaluable (CR/PR/NR) response at :data:`RESPONSE_VISIT`.
    excluded_from_analysis : int
        Allocated minus analysed for survival.
    """

    arm: str
    label: str
    allocated: int
    received: int
    not_received: tuple[tuple[str, int], ...]
    msc_planned: int
    msc_all_doses: int
    lost: int
    died: int
    hsct: int
    followed_at_cutoff: int
    analysed_survival: int
    analysed_response: int
    excluded_from_analysis: int


@dataclass(frozen=True)
class ConsortFacts:
    """Every number in the CONSORT diagram.

    Attributes
    ----------
    assessed : int
        Subjects assessed for eligibility.
    assessed_source : str
        ``"screening"`` or ``"adsl"`` (no screening table supplied).
    excluded : int
        Assessed but not allocated.
    allocated : int
        Subjects allocated to an arm.
    ineligible_allocated : int
        Allocated subjects the protocol's eligibility rules find ineligible.
    eligibility_unknown : int
        Allocated subjects whose eligibility could not be judged.
    unscreened_allocated : int
        Allocated subjects without a screening record (counted as assessed).
    arms : tuple of ArmFlow
    """

    assessed: int
    assessed_source: str
    excluded: int
    allocated: int
    ineligible_allocated: int
    eligibility_unknown: int
    unscreened_allocated: int
    arms: tuple[ArmFlow, ...]


def consort_facts(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    adrs: pd.DataFrame,
    screening: pd.DataFrame | None = None,
) -> ConsortFacts:
    """Count the CONSORT boxes from ADSL, ADTTE, ADRS and the screening table.

    Parameters
    ----------
    adsl, adtte, adrs : pandas.DataFrame
        Analysis datasets.
    screening : pandas.DataFrame, optional
        The study's ``screening`` table (one row per screened subject).

    Returns
    -------
    ConsortFacts

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> from saatrial.derive import derive_all
    >>> study = load_bundled_study()
    >>> ads = derive_all(study)
    >>> f = consort_facts(ads.adsl, ads.adtte, ads.adrs, study["screening"])
    >>> f.assessed, f.allocated, [(a.arm, a.allocated, a.hsct) for a in f.arms]
    (18, 18, [('MSC', 9, 4), ('CONTROL', 9, 2)])
    """
    itt = adsl[(adsl["ITTFL"] == "Y") & adsl["ARMCD"].notna()]
    allocated_ids = set(itt["SUBJID"].astype(str))
    if screening is not None:
        screened = set(screening["subject_id"].dropna().astype(str))
        source = "screening"
    else:
        screened = set(adsl["SUBJID"].astype(str))
        source = "adsl"
    survival_ids = set(adtte["SUBJID"].astype(str)) if len(adtte) else set()
    rsp = adrs[
        (adrs["PARAMCD"] == "RSP")
        & (adrs["AVISIT"] == RESPONSE_VISIT)
        & adrs["AVALC"].isin(["CR", "PR", "NR"])
    ]
    response_ids = set(rsp["SUBJID"].astype(str))
    os_rows = adtte[adtte["PARAMCD"] == "OS"] if len(adtte) else adtte
    censored_ids = set(os_rows.loc[os_rows["CNSR"] == 1, "SUBJID"].astype(str))

    flows = []
    for style in arm_styles(arm_labels(itt)).values():
        arm = itt[itt["ARMCD"] == style.code]
        ids = set(arm["SUBJID"].astype(str))
        got = arm["TRT01A"].fillna("") == arm["ARM"].fillna("")
        reasons: dict[str, int] = {}
        for actual in arm.loc[~got, "TRT01A"]:
            reason = (
                "no study drug given"
                if not isinstance(actual, str) or not actual
                else f"received {actual} instead"
            )
            reasons[reason] = reasons.get(reason, 0) + 1
        planned = int(arm["MSCDOSPL"].fillna(0).max()) if len(arm) else 0
        all_doses = int((arm["MSCDOSN"].fillna(0) >= arm["MSCDOSPL"].fillna(0)).sum())
        lost_mask = arm["LTFUFL"] == "Y"
        lost_ids = set(arm.loc[lost_mask, "SUBJID"].astype(str))
        flows.append(
            ArmFlow(
                arm=style.code,
                label=style.label,
                allocated=len(ids),
                received=int(got.sum()),
                not_received=tuple(sorted(reasons.items())),
                msc_planned=planned,
                msc_all_doses=all_doses if planned else 0,
                lost=len(lost_ids),
                died=int((arm["DTHFL"] == "Y").sum()),
                hsct=int((arm["HSCTFL"] == "Y").sum()),
                followed_at_cutoff=len((ids & censored_ids) - lost_ids),
                analysed_survival=len(ids & survival_ids),
                analysed_response=len(ids & response_ids),
                excluded_from_analysis=len(ids - survival_ids),
            )
        )
    return ConsortFacts(
        assessed=len(screened | allocated_ids),
        assessed_source=source,
        excluded=len(screened - allocated_ids),
        allocated=len(allocated_ids),
        ineligible_allocated=int((itt["ELIGFL"] == "N").sum()),
        eligibility_unknown=int(itt["ELIGFL"].isna().sum()),
        unscreened_allocated=len(allocated_ids - screened),
        arms=tuple(flows),
    )


@dataclass(frozen=True)
class _Box:
    """A box's text: bold title and body lines (already wrapped)."""

    title: list[str]
    body: list[str]

    @property
    def height(self) -> float:
        return (len(self.title) + len(self.body)) * _LINE_IN + 2 * _PAD_IN


def _wrap(text: str, width_in: float, indent: str = "") -> list[str]:
    chars = max(int((width_in - 2 * _PAD_IN) / _CHAR_IN), 12)
    return textwrap.wrap(text, chars, subsequent_indent=indent) or [""]


def _box(title: str, body: list[str], width_in: float) -> _Box:
    lines: list[str] = []
    for item in body:
        bullet = item.startswith("- ")
        text = ("• " + item[2:]) if bullet else item
        lines.extend(_wrap(text, width_in, indent="   " if bullet else ""))
    return _Box(_wrap(title, width_in), lines)


def _n(label: str, count: int) -> str:
    return f"{label} (n = {count})"


def _arm_boxes(flow: ArmFlow, width: float) -> tuple[_Box, _Box, _Box]:
    allocation = [f"- {_n('Received allocated intervention', flow.received)}"]
    not_received = sum(c for _, c in flow.not_received)
    allocation.append(f"- {_n('Did not receive allocated intervention', not_received)}")
    allocation.extend(f"- {_n(reason, count)}" for reason, count in flow.not_received)
    if flow.msc_planned:
        allocation.append(
            f"- {_n(f'Received all {flow.msc_planned} UC-MSC doses', flow.msc_all_doses)}"
        )
    follow = [
        f"- {_n('Lost to follow-up', flow.lost)}",
        f"- {_n('Died', flow.died)}",
        f"- {_n('Salvage HSCT (treatment failure)', flow.hsct)}",
        f"- {_n('Alive and followed at data cut-off', flow.followed_at_cutoff)}",
    ]
    analysis = [
        f"- Survival (OS, FFS): n = {flow.analysed_survival}",
        f"- Response at day {RESPONSE_VISIT[1:]}: n = {flow.analysed_response}",
        f"- {_n('Excluded from analysis', flow.excluded_from_analysis)}"
        + (" - no first rATG dose" if flow.excluded_from_analysis else ""),
    ]
    return (
        _box(_n(f"Allocated to {flow.label}", flow.allocated), allocation, width),
        _box("Follow-up", follow, width),
        _box(_n("Analysed", flow.analysed_survival), analysis, width),
    )


def _draw_box(ax: Axes, x: float, top: float, width: float, box: _Box, height: float) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (x, top - height),
            width,
            height,
            boxstyle="round,pad=0,rounding_size=0.06",
            facecolor="white",
            edgecolor=INK,
            linewidth=1.0,
        )
    )
    y = top - _PAD_IN
    for line in box.title:
        ax.text(x + _PAD_IN, y, line, va="top", ha="left", fontsize=_FONT_PT, fontweight="bold")
        y -= _LINE_IN
    for line in box.body:
        ax.text(x + _PAD_IN, y, line, va="top", ha="left", fontsize=_FONT_PT)
        y -= _LINE_IN


def _arrow(
    ax: Axes, start: tuple[float, float], end: tuple[float, float], head: bool = True
) -> None:
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>" if head else "-",
            mutation_scale=11,
            color=INK,
            linewidth=1.0,
            shrinkA=0,
            shrinkB=0,
        )
    )


def _stage(ax: Axes, top: float, bottom: float, label: str) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (0.12, bottom),
            0.34,
            top - bottom,
            boxstyle="round,pad=0,rounding_size=0.06",
            facecolor=_STAGE_FILL,
            edgecolor="none",
        )
    )
    ax.text(
        0.29,
        (top + bottom) / 2,
        label,
        rotation=90,
        ha="center",
        va="center",
        fontsize=_FONT_PT + 0.5,
        fontweight="bold",
    )


def draw_consort(facts: ConsortFacts) -> Figure:
    """Draw the figure from its facts (not yet rendered; see ``style.render``)."""
    with figure_style():
        return _draw(facts)


def _draw(facts: ConsortFacts) -> Figure:
    n_arms = max(len(facts.arms), 1)
    width_in = 10.0 if n_arms <= 2 else 3.6 * n_arms + 0.8
    left, right = 0.7, width_in - 0.15
    gap = 0.35
    col_w = min(4.6, (right - left - gap * (n_arms - 1)) / n_arms)
    centre = (left + right) / 2
    main_w = min(3.4, right - left)
    side_w = min(3.6, right - centre - 0.3)

    assessed = _box(_n("Assessed for eligibility", facts.assessed), [], main_w)
    side_body = []
    if facts.ineligible_allocated:
        what = "Allocated although not eligible by the protocol rules"
        side_body.append(f"- {_n(what, facts.ineligible_allocated)}")
    if facts.eligibility_unknown:
        what = "Allocated; eligibility could not be judged"
        side_body.append(f"- {_n(what, facts.eligibility_unknown)}")
    excluded = _box(_n("Excluded before allocation", facts.excluded), side_body, side_w)
    allocated = _box(_n("Allocated", facts.allocated), [], main_w)
    columns = [_arm_boxes(flow, col_w) for flow in facts.arms]
    row_h = [max((c[i].height for c in columns), default=0.0) for i in range(3)]

    v_gap = 0.42
    heights = [assessed.height, excluded.height, allocated.height]
    total = (
        0.15
        + heights[0]
        + v_gap
        + max(heights[1], 0.3)
        + v_gap
        + heights[2]
        + (v_gap * 1.4 + row_h[0] + v_gap + row_h[1] + v_gap + row_h[2] if columns else 0.0)
        + 0.15
    )
    fig = Figure(figsize=(width_in, total))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width_in)
    ax.set_ylim(0, total)
    ax.set_axis_off()

    y = total - 0.15
    _draw_box(ax, centre - main_w / 2, y, main_w, assessed, assessed.height)
    enrol_top = y
    y -= assessed.height
    # the excluded box hangs off the vertical line between "assessed" and "allocated"
    side_top = y - v_gap
    side_mid = side_top - excluded.height / 2
    _draw_box(ax, centre + 0.3, side_top, side_w, excluded, excluded.height)
    alloc_top = side_top - max(excluded.height, 0.3) - v_gap
    _arrow(ax, (centre, y), (centre, alloc_top))
    _arrow(ax, (centre, side_mid), (centre + 0.3, side_mid))
    _draw_box(ax, centre - main_w / 2, alloc_top, main_w, allocated, allocated.height)
    _stage(ax, enrol_top, alloc_top + 0.1, "Enrolment")
    y = alloc_top - allocated.height
    bar_y = y - v_gap * 0.7
    span = len(facts.arms) * col_w + gap * (len(facts.arms) - 1)
    first_x = centre - span / 2
    xs = [first_x + i * (col_w + gap) + col_w / 2 for i in range(len(facts.arms))]
    if facts.arms:
        _arrow(ax, (centre, y), (centre, bar_y), head=False)
        _arrow(ax, (min(xs), bar_y), (max(xs), bar_y), head=False)
    y = y - v_gap * 1.4
    for row, stage in enumerate(("Allocation", "Follow-up", "Analysis") if columns else ()):
        for i, column in enumerate(columns):
            x0 = xs[i] - col_w / 2
            start = bar_y if row == 0 else y + v_gap
            _arrow(ax, (xs[i], start), (xs[i], y))
            _draw_box(ax, x0, y, col_w, column[row], row_h[row])
        _stage(ax, y, y - row_h[row], stage)
        y -= row_h[row] + v_gap
    return fig


def consort_figure(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    adrs: pd.DataFrame,
    screening: pd.DataFrame | None = None,
) -> BuiltFigure:
    """The CONSORT flow diagram.

    Parameters
    ----------
    adsl, adtte, adrs : pandas.DataFrame
        Analysis datasets.
    screening : pandas.DataFrame, optional
        The study's ``screening`` table. Without it "assessed" counts the
        ADSL subjects, and a notice says so.

    Returns
    -------
    BuiltFigure
        Key ``consort``; facts :class:`ConsortFacts`.
    """
    facts = consort_facts(adsl, adtte, adrs, screening)
    notices: list[Notice] = []
    if facts.assessed_source == "adsl":
        notices.append(
            Notice(
                KEY,
                "screening table not supplied: 'assessed for eligibility' counts the "
                "enrolled subjects only",
            )
        )
    if facts.assessed_source == "screening" and facts.unscreened_allocated:
        notices.append(
            Notice(
                KEY,
                f"{facts.unscreened_allocated} allocated subject(s) have no screening "
                "record; counted as assessed",
            )
        )
    if facts.ineligible_allocated:
        notices.append(
            Notice(
                KEY,
                f"{facts.ineligible_allocated} allocated subject(s) do not meet the "
                "protocol's eligibility rules (ADSL ELIGFAIL lists why)",
            )
        )
    if facts.eligibility_unknown:
        notices.append(
            Notice(
                KEY,
                f"{facts.eligibility_unknown} allocated subject(s) could not be judged for "
                "eligibility (missing screening data or no first rATG dose)",
            )
        )
    if not facts.arms:
        notices.append(Notice(KEY, "no subject allocated to an arm; flow diagram has no arms"))
    return built_figure(
        facts,
        draw_consort,
        key=KEY,
        title="Figure 5. CONSORT flow diagram",
        caption=_caption(facts),
        alt=_alt(facts),
        notices=notices,
    )


def _caption(facts: ConsortFacts) -> str:
    source = (
        "subjects with a screening record"
        if facts.assessed_source == "screening"
        else "enrolled subjects (no screening table)"
    )
    return (
        f"Flow of participants (CONSORT 2010). Assessed: {source}. Received allocated "
        "intervention: actual treatment from the exposure records equals the allocated arm. "
        "Analysed for survival: patients with a time origin (first rATG dose); for response: "
        f"an evaluable response at day {RESPONSE_VISIT[1:]}."
    )


def _alt(facts: ConsortFacts) -> str:
    arms = "; ".join(
        f"{a.label}: allocated {a.allocated}, received {a.received}, lost {a.lost}, "
        f"died {a.died}, salvage HSCT {a.hsct}, analysed {a.analysed_survival}"
        for a in facts.arms
    )
    return (
        f"CONSORT flow diagram. Assessed {facts.assessed}, excluded {facts.excluded}, "
        f"allocated {facts.allocated}. {arms}."
    )
