"""The report's figures, drawn with matplotlib from the analysis datasets.

==================== ================================================ ==================
key                  figure                                           module
==================== ================================================ ==================
figure1_blood_counts ANC, HGB, PLT, ARC by visit and arm              :mod:`.blood_counts`
figure2_tcells       CD3+CD4+ %, CD3+CD8+ %, Treg % before and after  :mod:`.tcells`
figure3_ffs          Kaplan-Meier FFS with numbers at risk            :mod:`.survival`
figure3_os           Kaplan-Meier OS with numbers at risk             :mod:`.survival`
swimmer              one lane per patient                             :mod:`.swimmer`
consort              CONSORT flow diagram                             :mod:`.consort`
==================== ================================================ ==================

Figures compute what they draw themselves (curves with
:func:`saatrial.stats.kaplan_meier`, means and SEs, counts) and take only the
p-values to print from the caller, so they do not depend on the analysis
module. Each builder is usable alone and returns a
:class:`~saatrial.report.figures.common.BuiltFigure` (figure, facts, notices).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from saatrial.derive import AnalysisDatasets
from saatrial.report.figures.blood_counts import blood_counts_figure
from saatrial.report.figures.common import BuiltFigure
from saatrial.report.figures.consort import consort_figure
from saatrial.report.figures.survival import km_figure
from saatrial.report.figures.swimmer import swimmer_figure
from saatrial.report.figures.tcells import tcells_figure
from saatrial.report.model import Notice, ReportFigure
from saatrial.study import StudyData

__all__ = [
    "FIGURE_KEYS",
    "BuiltFigure",
    "blood_counts_figure",
    "build_figures",
    "build_figures_detailed",
    "consort_figure",
    "km_figure",
    "swimmer_figure",
    "tcells_figure",
]

#: Keys of the figures :func:`build_figures` returns, in order.
FIGURE_KEYS = (
    "figure1_blood_counts",
    "figure2_tcells",
    "figure3_ffs",
    "figure3_os",
    "swimmer",
    "consort",
)


def build_figures_detailed(
    ads: AnalysisDatasets,
    analysis_p: Mapping[str, float | None] | None = None,
    logrank_p: Mapping[str, float | None] | None = None,
    *,
    study: StudyData | None = None,
) -> dict[str, BuiltFigure | Notice]:
    """Every figure with its facts; a figure that could not be drawn is a Notice instead.

    Parameters and behaviour as :func:`build_figures`.

    Returns
    -------
    dict
        Figure key -> :class:`BuiltFigure`, or a :class:`Notice` saying why
        the figure is missing.
    """
    analysis_p = analysis_p or {}
    logrank_p = logrank_p or {}
    exposures = study["exposures"] if study is not None else None
    screening = None
    if study is not None and len(study["screening"]):
        screening = study["screening"]
    builders: dict[str, Callable[[], BuiltFigure]] = {
        "figure1_blood_counts": lambda: blood_counts_figure(ads.adlb, ads.adsl, analysis_p),
        "figure2_tcells": lambda: tcells_figure(ads.adlb, ads.adsl, analysis_p),
        "figure3_ffs": lambda: km_figure(ads.adtte, "FFS", logrank_p.get("FFS")),
        "figure3_os": lambda: km_figure(ads.adtte, "OS", logrank_p.get("OS")),
        "swimmer": lambda: swimmer_figure(ads.adsl, ads.adtte, ads.adrs, exposures),
        "consort": lambda: consort_figure(ads.adsl, ads.adtte, ads.adrs, screening),
    }
    out: dict[str, BuiltFigure | Notice] = {}
    for key, build in builders.items():
        try:
            out[key] = build()
        except Exception as exc:  # a figure must never stop the report; say why it is missing
            out[key] = Notice(key, f"figure not drawn: {type(exc).__name__}: {exc}")
    return out


def build_figures(
    ads: AnalysisDatasets,
    analysis_p: Mapping[str, float | None] | None = None,
    logrank_p: Mapping[str, float | None] | None = None,
    *,
    study: StudyData | None = None,
) -> tuple[list[ReportFigure], list[Notice]]:
    """Draw every report figure from the analysis datasets.

    Parameters
    ----------
    ads : AnalysisDatasets
        From :func:`saatrial.derive.derive_all`.
    analysis_p : Mapping, optional
        Mixed-ANOVA arm x time interaction p by parameter name as in
        ``published_results.yaml`` (``PLT``, ``ANC``, ``HGB``, ``ARC``,
        ``CD3CD4_pct``, ``CD3CD8_pct``, ``TREG_pct``); printed in the panel
        titles. Missing keys or None print nothing.
    logrank_p : Mapping, optional
        Log-rank p by ADTTE parameter (``FFS``, ``OS``).
    study : StudyData, optional
        The study the datasets were derived from: its ``exposures`` table
        gives the UC-MSC doses in the swimmer plot and its ``screening``
        table the "assessed for eligibility" count of the CONSORT diagram.
        Without it both figures are still drawn, with a notice each.

    Returns
    -------
    figures : list of ReportFigure
        In :data:`FIGURE_KEYS` order (a figure that could not be drawn is
        left out).
    notices : list of Notice
        What could not be drawn or computed, and why.

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> from saatrial.derive import derive_all
    >>> study = load_bundled_study()
    >>> figures, notices = build_figures(derive_all(study), {"PLT": 0.192}, {"FFS": 0.153},
    ...                                  study=study)
    >>> [f.key for f in figures] == list(FIGURE_KEYS), notices
    (True, [])
    """
    figures: list[ReportFigure] = []
    notices: list[Notice] = []
    for item in build_figures_detailed(ads, analysis_p, logrank_p, study=study).values():
        if isinstance(item, Notice):
            notices.append(item)
        else:
            figures.append(item.figure)
            notices.extend(item.notices)
    return figures, notices
