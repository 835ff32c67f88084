"""Pieces the figure builders share: the result object, arms, repeated-measures summaries.

A builder computes its *facts* (the numbers it will print, as a frozen
dataclass) from the analysis datasets, draws them, and returns a
:class:`BuiltFigure` (made by :func:`built_figure`): the rendered
:class:`~saatrial.report.model.ReportFigure`, the facts (so tests and the
report can check what was printed against the data) and the notices (what
could not be drawn, and why).

The repeated-measures figures (1 and 2) also share their facts
(:func:`repeated_panels`), notices (:func:`repeated_notices`), the arm mean
± SE line (:func:`draw_arm_means`), the empty-panel text
(:func:`mark_no_values`) and the legend (:func:`add_arm_legend`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from saatrial.report.figures.style import (
    DAYS_PER_MONTH,
    MUTED,
    ArmStyle,
    arm_styles,
    figure_style,
    render,
    visit_label,
)
from saatrial.report.model import Notice, ReportFigure

__all__ = [
    "PANEL_LETTERS",
    "ArmSeries",
    "BuiltFigure",
    "RepeatedFacts",
    "SubjectSeries",
    "VisitSummary",
    "add_arm_legend",
    "arm_labels",
    "arm_sizes",
    "built_figure",
    "draw_arm_means",
    "legend_handles",
    "mark_no_values",
    "months_between",
    "panel_arm_styles",
    "repeated_facts",
    "repeated_notices",
    "repeated_panels",
    "unit_text",
]

#: Letters of the panels of a multi-panel figure, in order.
PANEL_LETTERS = "abcdefgh"


@dataclass(frozen=True)
class BuiltFigure:
    """A rendered figure with the numbers it prints and what it could not show.

    Attributes
    ----------
    figure : ReportFigure
        PNG + SVG, title, caption, alt text.
    facts : Any
        The builder's facts dataclass (numbers as printed, computed from the data).
    notices : tuple of Notice
        What could not be drawn or computed, and why.
    """

    figure: ReportFigure
    facts: Any
    notices: tuple[Notice, ...] = ()


def built_figure(
    facts: Any,
    draw: Callable[[Any], Figure],
    *,
    key: str,
    title: str,
    caption: str,
    alt: str,
    notices: Sequence[Notice] = (),
) -> BuiltFigure:
    """Render ``draw(facts)`` in the report style and wrap it with its facts and notices.

    Parameters
    ----------
    facts : Any
        The builder's facts dataclass.
    draw : callable
        Draws the facts as a (not yet rendered) matplotlib Figure.
    key, title, caption, alt : str
        As in :class:`~saatrial.report.model.ReportFigure`; ``key`` also
        salts the SVG ids (:func:`~saatrial.report.figures.style.render`).
    notices : sequence of Notice
        What could not be drawn or computed.

    Returns
    -------
    BuiltFigure

    Examples
    --------
    >>> def draw(facts):
    ...     fig = Figure(figsize=(2, 1))
    ...     fig.add_subplot().plot(facts, facts)
    ...     return fig
    >>> built = built_figure([0, 1], draw, key="demo", title="Demo", caption="c", alt="a")
    >>> built.figure.png[:4], built.facts, built.notices
    (b'\\x89PNG', [0, 1], ())
    """
    with figure_style():
        png, svg = render(draw(facts), key)
    return BuiltFigure(
        ReportFigure(key=key, title=title, caption=caption, png=png, svg=svg, alt=alt),
        facts,
        tuple(notices),
    )


@dataclass(frozen=True)
class VisitSummary:
    """Mean ± SE of one parameter in one arm at one visit.

    Attributes
    ----------
    visit : str
        Visit code (ADaM ``AVISIT``: ``BASELINE``, ``D40``, ...).
    n : int
        Subjects with a value at the visit.
    mean : float
        Arithmetic mean (NaN when ``n == 0``).
    se : float
        Standard error of the mean, SD (ddof 1) / sqrt(n); NaN when ``n < 2``.
    """

    visit: str
    n: int
    mean: float
    se: float


@dataclass(frozen=True)
class SubjectSeries:
    """One patient's values at the visits (NaN where the visit is missing)."""

    subject_id: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class ArmSeries:
    """One arm of a repeated-measures panel.

    Attributes
    ----------
    arm, label : str
        Arm code and label.
    n_subjects : int
        Subjects of the arm (ADSL) - printed in the legend.
    visits : tuple of VisitSummary
        One per visit, in visit order.
    subjects : tuple of SubjectSeries
        Every subject of the arm with at least one value, sorted by id.
    """

    arm: str
    label: str
    n_subjects: int
    visits: tuple[VisitSummary, ...]
    subjects: tuple[SubjectSeries, ...]


@dataclass(frozen=True)
class RepeatedFacts:
    """What one repeated-measures panel prints (Figures 1 and 2).

    Attributes
    ----------
    paramcd : str
        ADLB parameter code.
    title : str
        Panel title (without the letter).
    axis_label : str
        Y-axis label with the unit.
    visits : tuple of str
        Visit codes on the x axis.
    pvalue : float or None
        Arm x time interaction p supplied by the caller (None: not supplied).
    arms : tuple of ArmSeries
    missing : tuple of str
        One sentence per arm and visit with fewer values than subjects.
    """

    paramcd: str
    title: str
    axis_label: str
    visits: tuple[str, ...]
    pvalue: float | None
    arms: tuple[ArmSeries, ...]
    missing: tuple[str, ...]

    @property
    def has_data(self) -> bool:
        """True when any arm has a value at any visit."""
        return any(v.n > 0 for a in self.arms for v in a.visits)


def arm_labels(*frames: pd.DataFrame) -> dict[str, str]:
    """Arm code -> label from the first frames that have ``ARMCD`` and ``ARM``/``TRTP``.

    Codes without a label are labelled by their code. Rows without an arm
    code are ignored.

    Examples
    --------
    >>> df = pd.DataFrame({"ARMCD": ["MSC", "CONTROL"], "ARM": ["UC-MSC + IST", None]})
    >>> arm_labels(df)
    {'CONTROL': 'CONTROL', 'MSC': 'UC-MSC + IST'}
    """
    labels: dict[str, str] = {}
    for frame in frames:
        if frame is None or "ARMCD" not in frame.columns:
            continue
        label_col = "ARM" if "ARM" in frame.columns else "TRTP" if "TRTP" in frame.columns else None
        for _, row in frame.iterrows():
            code = row["ARMCD"]
            if not isinstance(code, str) or not code:
                continue
            label = row[label_col] if label_col else None
            if isinstance(label, str) and label and labels.get(code, code) == code:
                labels[code] = label
            else:
                labels.setdefault(code, code)
    return dict(sorted(labels.items()))


def arm_sizes(adsl: pd.DataFrame | None, fallback: pd.DataFrame) -> dict[str, int]:
    """Subjects per arm code: from ADSL when given, else from ``fallback`` (e.g. ADLB).

    Examples
    --------
    >>> arm_sizes(pd.DataFrame({"ARMCD": ["A", "A", "B", None], "SUBJID": list("1234")}), None)
    {'A': 2, 'B': 1}
    """
    source = adsl if adsl is not None and "ARMCD" in adsl.columns else fallback
    counts = source.dropna(subset=["ARMCD"]).groupby("ARMCD")["SUBJID"].nunique()
    return {str(k): int(v) for k, v in counts.items()}


def months_between(start: Any, end: Any) -> float:
    """Months from ``start`` to ``end``: whole days / 30.4375 (TRIAL.md 5); NaN if one is missing.

    Examples
    --------
    >>> round(months_between(pd.Timestamp("2014-01-01"), pd.Timestamp("2014-07-01")), 3)
    5.947
    >>> months_between(pd.Timestamp("2014-01-01"), pd.NaT)
    nan
    """
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return float("nan")
    return (pd.Timestamp(end) - pd.Timestamp(start)).days / DAYS_PER_MONTH


def unit_text(unit: Any) -> str:
    """A data-dictionary unit as printed on an axis (``10^9/L`` -> ``×10⁹/L``).

    Examples
    --------
    >>> unit_text("10^9/L"), unit_text("g/L"), unit_text(None)
    ('×10⁹/L', 'g/L', '')
    """
    if not isinstance(unit, str):
        return ""
    return unit.replace("10^9", "×10⁹").replace("10^6", "×10⁶").replace("uL", "µL")


def repeated_facts(
    adlb: pd.DataFrame,
    paramcd: str,
    visits: Sequence[str],
    arms: Mapping[str, str],
    arm_sizes: Mapping[str, int],
    *,
    title: str,
    axis_label: str,
    pvalue: float | None = None,
) -> RepeatedFacts:
    """Per-arm, per-visit mean ± SE and each subject's values of one ADLB parameter.

    Uses the analysis records (``ANL01FL == "Y"``) of ``paramcd`` at the
    given visits (D9: the record nearest the target day inside the window).

    Parameters
    ----------
    adlb : pandas.DataFrame
        ADLB (columns ``SUBJID, ARMCD, PARAMCD, AVISIT, ANL01FL, AVAL``).
    paramcd : str
        Parameter, e.g. ``"ANC"``.
    visits : sequence of str
        Visit codes in x order, e.g. ``("BASELINE", "D40", "D90")``.
    arms : Mapping
        Arm code -> label, in drawing order.
    arm_sizes : Mapping
        Arm code -> number of subjects (ADSL); the denominator for "missing".
    title, axis_label : str
        Printed panel title and y label.
    pvalue : float, optional
        The caller's arm x time interaction p.

    Returns
    -------
    RepeatedFacts

    Examples
    --------
    >>> adlb = pd.DataFrame({"SUBJID": ["A", "A", "B", "B"], "ARMCD": ["X"] * 4,
    ...     "PARAMCD": ["PLT"] * 4, "AVISIT": ["BASELINE", "D40"] * 2,
    ...     "ANL01FL": ["Y"] * 4, "AVAL": [10.0, 20.0, 30.0, 60.0]})
    >>> f = repeated_facts(adlb, "PLT", ["BASELINE", "D40"], {"X": "X"}, {"X": 2},
    ...                    title="Platelets", axis_label="PLT")
    >>> [(v.visit, v.n, v.mean, round(v.se, 3)) for v in f.arms[0].visits]
    [('BASELINE', 2, 20.0, 10.0), ('D40', 2, 40.0, 20.0)]
    """
    visits = tuple(visits)
    rows = adlb[
        (adlb["PARAMCD"] == paramcd)
        & (adlb["ANL01FL"] == "Y")
        & adlb["AVISIT"].isin(list(visits))
        & adlb["AVAL"].notna()
    ]
    series: list[ArmSeries] = []
    missing: list[str] = []
    for arm, label in arms.items():
        in_arm = rows[rows["ARMCD"] == arm]
        # one value per subject and visit (ANL01FL guarantees it; keep the first if not)
        wide = (
            in_arm.drop_duplicates(["SUBJID", "AVISIT"])
            .pivot(index="SUBJID", columns="AVISIT", values="AVAL")
            .reindex(columns=list(visits))
            .sort_index()
        )
        summaries = []
        for visit in visits:
            values = wide[visit].dropna().to_numpy(dtype=float) if len(wide) else np.array([])
            n = int(values.size)
            mean = float(values.mean()) if n else float("nan")
            se = float(values.std(ddof=1) / math.sqrt(n)) if n >= 2 else float("nan")
            summaries.append(VisitSummary(visit, n, mean, se))
            expected = int(arm_sizes.get(arm, 0))
            if n < expected:
                missing.append(
                    f"{title}: {visit_label(visit).lower()} value missing for "
                    f"{expected - n} of {expected} subjects in {label}"
                )
        subjects = tuple(
            SubjectSeries(
                str(sid),
                tuple(float(v) if pd.notna(v) else float("nan") for v in wide.loc[sid]),
            )
            for sid in wide.index
        )
        size = int(arm_sizes.get(arm, len(subjects)))
        series.append(ArmSeries(arm, label, size, tuple(summaries), subjects))
    return RepeatedFacts(
        paramcd=paramcd,
        title=title,
        axis_label=axis_label,
        visits=visits,
        pvalue=None if pvalue is None or pd.isna(pvalue) else float(pvalue),
        arms=tuple(series),
        missing=tuple(missing),
    )


def repeated_panels(
    adlb: pd.DataFrame,
    adsl: pd.DataFrame | None,
    pvalues: Mapping[str, float | None] | None,
    visits: Sequence[str],
    panels: Mapping[str, tuple[str, str, str]],
) -> tuple[RepeatedFacts, ...]:
    """One :class:`RepeatedFacts` per panel of a repeated-measures figure, in panel order.

    Parameters
    ----------
    adlb : pandas.DataFrame
        ADLB.
    adsl : pandas.DataFrame, optional
        ADSL: arms, labels and arm sizes (default: taken from ADLB).
    pvalues : Mapping, optional
        p-value key -> arm x time interaction p, as computed by the analysis.
    visits : sequence of str
        Visit codes on the x axis.
    panels : Mapping
        ADLB parameter -> (title, axis label, p-value key).

    Returns
    -------
    tuple of RepeatedFacts

    Examples
    --------
    >>> adlb = pd.DataFrame({"SUBJID": ["A", "A"], "ARMCD": ["X"] * 2, "TRTP": ["Arm X"] * 2,
    ...     "PARAMCD": ["PLT"] * 2, "AVISIT": ["BASELINE", "D40"], "ANL01FL": ["Y"] * 2,
    ...     "AVAL": [10.0, 20.0]})
    >>> (plt,) = repeated_panels(adlb, None, {"PLT": 0.5}, ["BASELINE", "D40"],
    ...                          {"PLT": ("Platelets", "PLT", "PLT")})
    >>> plt.pvalue, plt.arms[0].label, [v.mean for v in plt.arms[0].visits]
    (0.5, 'Arm X', [10.0, 20.0])
    """
    labels = arm_labels(*(f for f in (adsl, adlb) if f is not None))
    arms = {s.code: s.label for s in arm_styles(labels).values()}
    sizes = arm_sizes(adsl, adlb)
    pvalues = pvalues or {}
    return tuple(
        repeated_facts(
            adlb,
            paramcd,
            visits,
            arms,
            sizes,
            title=title,
            axis_label=label,
            pvalue=pvalues.get(p_key),
        )
        for paramcd, (title, label, p_key) in panels.items()
    )


def repeated_notices(key: str, panels: Sequence[RepeatedFacts]) -> tuple[Notice, ...]:
    """A notice per panel without data and per arm and visit with missing values.

    Examples
    --------
    >>> empty = RepeatedFacts("PLT", "Platelets", "PLT", ("BASELINE",), None, (), ())
    >>> [n.message for n in repeated_notices("fig", [empty])]
    ['Platelets: no values at any visit; panel left empty']
    """
    out: list[Notice] = []
    for panel in panels:
        if not panel.has_data:
            out.append(Notice(key, f"{panel.title}: no values at any visit; panel left empty"))
            continue
        out.extend(Notice(key, f"{m}; mean ± SE of the others shown") for m in panel.missing)
    return tuple(out)


def draw_arm_means(
    ax: Axes,
    x: np.ndarray,
    arm: ArmSeries,
    style: ArmStyle,
    *,
    linewidth: float,
    markersize: float,
) -> None:
    """Draw an arm's mean at each visit as a thick line with ± SE error bars (none for n < 2)."""
    means = np.array([v.mean for v in arm.visits])
    ses = np.array([v.se for v in arm.visits])
    ax.errorbar(
        x,
        means,
        yerr=np.where(np.isnan(ses), 0.0, ses),
        color=style.colour,
        linestyle=style.linestyle,
        linewidth=linewidth,
        marker=style.marker,
        markersize=markersize,
        markeredgecolor="white",
        markeredgewidth=0.8,
        capsize=4,
        elinewidth=1.6,
        zorder=3,
    )


def mark_no_values(ax: Axes) -> None:
    """Write "no values recorded" in the middle of an empty panel."""
    ax.text(
        0.5,
        0.5,
        "no values recorded",
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=MUTED,
    )


def panel_arm_styles(
    panels: Sequence[RepeatedFacts],
) -> tuple[dict[str, ArmStyle], dict[str, int]]:
    """Arm styles and arm sizes (for the legend) from the first panel's arms."""
    arms = panels[0].arms if panels else ()
    return arm_styles({a.arm: a.label for a in arms}), {a.arm: a.n_subjects for a in arms}


def legend_handles(styles: Mapping[str, ArmStyle], sizes: Mapping[str, int]) -> list[Line2D]:
    """Legend entries: one per arm with its n, plus the meaning of thin lines and bars."""
    handles = [
        Line2D(
            [],
            [],
            color=s.colour,
            linestyle=s.linestyle,
            linewidth=2.2,
            marker=s.marker,
            markeredgecolor="white",
            label=f"{s.label} (n = {sizes.get(code, 0)}): mean ± SE",
        )
        for code, s in styles.items()
    ]
    handles.append(
        Line2D([], [], color="#888888", alpha=0.6, linewidth=0.8, label="one line per patient")
    )
    return handles


def add_arm_legend(fig: Figure, styles: Mapping[str, ArmStyle], sizes: Mapping[str, int]) -> None:
    """One legend below the panels (:func:`legend_handles`)."""
    fig.legend(
        handles=legend_handles(styles, sizes),
        loc="outside lower center",
        ncols=min(len(styles) + 1, 3),
    )
