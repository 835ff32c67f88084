"""Assemble the report of a study: derive, analyse, tabulate, draw, check, arrange.

:func:`build_report` runs the whole pipeline on a :class:`~saatrial.study.StudyData`
and returns the :class:`~saatrial.report.model.Report` (sections in reading
order) with the analysis datasets it was computed from; the writers
(:mod:`saatrial.report.writers`) turn it into files. Nothing here computes a
statistic: numbers come from :func:`saatrial.report.analysis.analyze` and the
tables and figures built from it.

Sections, in order (:data:`SECTIONS`): Summary, Reproduction (only when a
published reference exists for the study), CONSORT, Table 1, Safety (Table 2),
Response, Figure 1, Figure 2, Survival (Figure 3 FFS and OS and the survival
table), Swimmer plot, Statistical methods, Notices, Data notes, Provenance.

The published reference defaults to the package copy for the study
(``saatrial/report/published/<study_id>.yaml``, e.g. the bundled NCT02218437)
when the study's ``study_id`` and ``registry_id`` match it; any other study
gets no Reproduction section, and a notice says so.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pandas as pd
import yaml

from saatrial import __version__
from saatrial.derive import AnalysisDatasets, derive_all
from saatrial.protocol import Protocol, load_protocol
from saatrial.report.html import FAIL_MARK, PASS_MARK
from saatrial.report.model import (
    Notice,
    Report,
    ReportFigure,
    ReportTable,
    ReproductionRow,
    Section,
)
from saatrial.study import StudyData

__all__ = [
    "SECTIONS",
    "StudyFacts",
    "build_report",
    "format_value",
    "published_for",
    "reproduction_section",
    "study_facts",
]

#: Section key -> title, in reading order.
SECTIONS: dict[str, str] = {
    "summary": "Summary",
    "reproduction": "Reproduction of the published results",
    "consort": "CONSORT flow diagram",
    "table1": "Table 1: baseline characteristics",
    "safety": "Safety: adverse events (Table 2)",
    "response": "Response",
    "figure1": "Figure 1: blood counts",
    "figure2": "Figure 2: T-cell subsets",
    "survival": "Survival (Figure 3)",
    "swimmer": "Swimmer plot",
    "methods": "Statistical methods",
    "notices": "Notices: what could not be computed, and why",
    "data_notes": "Data notes",
    "provenance": "Provenance",
}

#: Figure key (fixed by the figures package) -> section.
FIGURE_SECTION: dict[str, str] = {
    "consort": "consort",
    "figure1_blood_counts": "figure1",
    "figure2_tcells": "figure2",
    "figure3_ffs": "survival",
    "figure3_os": "survival",
    "swimmer": "swimmer",
}

#: Table key or notice ``where`` -> section: (section, substrings, whole words); the
#: first section with a match wins (T-cell parameters before the blood-count ANOVA).
_KEYWORDS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("reproduction", ("reproduc", "published"), ()),
    ("consort", ("consort",), ()),
    ("table1", ("table1", "table 1", "baseline"), ()),
    ("safety", ("table2", "table 2", "safety", "adverse", "adae", "ctcae"), ("ae",)),
    ("response", ("response", "adrs"), ("orr",)),
    ("figure2", ("figure2", "figure 2", "tcell", "t-cell", "cd3", "cd4", "cd8", "treg"), ()),
    ("figure1", ("figure1", "figure 1", "blood", "anova", "mixed model", "adlb"), ()),
    (
        "survival",
        ("figure3", "figure 3", "survival", "adtte", "kaplan", "log-rank", "logrank",
         "follow", "gvhd", "hsct"),
        ("km", "os", "ffs"),
    ),
    ("swimmer", ("swimmer",), ()),
    ("methods", ("method",), ()),
)

_PUBLISHED_PACKAGE = "saatrial.report"
_PUBLISHED_FOLDER = "published"


@dataclass(frozen=True)
class StudyFacts:
    """What the report header says about the study (from the ``study`` table).

    Attributes
    ----------
    study_id, registry_id, title, protocol_id : str
        Empty text when absent.
    data_cutoff : str
        ``YYYY-MM-DD`` or empty.
    """

    study_id: str
    registry_id: str
    title: str
    protocol_id: str
    data_cutoff: str


def _text(value: Any) -> str:
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.strftime("%Y-%m-%d")
    return str(value)


def study_facts(study: StudyData) -> StudyFacts:
    """Identity of a study from its one-row ``study`` table (empty texts when absent).

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> f = study_facts(load_bundled_study())
    >>> f.study_id, f.registry_id, f.data_cutoff
    ('nct02218437', 'NCT02218437', '2018-04-13')
    """
    frame = study.tables["study"]
    row = frame.iloc[0] if len(frame) else pd.Series(dtype=object)
    return StudyFacts(
        study_id=_text(row.get("study_id")),
        registry_id=_text(row.get("registry_id")),
        title=_text(row.get("title")),
        protocol_id=_text(row.get("protocol_id")),
        data_cutoff=_text(row.get("data_cutoff_date")),
    )


def published_for(study: StudyData) -> tuple[dict[str, Any] | None, str]:
    """The package's published reference for a study, if it has one.

    The file is ``saatrial/report/published/<study_id>.yaml``; it applies only
    when its ``study.registry_id`` equals the study's ``registry_id``
    (case-insensitive).

    Returns
    -------
    (dict or None, str)
        The reference and why it applies, or None and why there is none.

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> ref, why = published_for(load_bundled_study())
    >>> ref["long_term"]["ffs_logrank_p"], why
    (0.153, 'published reference saatrial/report/published/nct02218437.yaml (NCT02218437)')
    """
    facts = study_facts(study)
    sid = facts.study_id.strip().lower()
    if not sid or not all(c.isalnum() or c in "-_" for c in sid):
        return None, f"study_id {facts.study_id!r} has no published reference"
    res = resources.files(_PUBLISHED_PACKAGE).joinpath(_PUBLISHED_FOLDER, f"{sid}.yaml")
    if not res.is_file():
        return None, f"no published results for study {facts.study_id} in this package"
    published = yaml.safe_load(res.read_text(encoding="utf-8"))
    ref_registry = str((published.get("study") or {}).get("registry_id", ""))
    if ref_registry.upper() != facts.registry_id.upper():
        return None, (
            f"study {facts.study_id}: registry_id {facts.registry_id or '(empty)'} differs "
            f"from the published reference's {ref_registry}; no reproduction check"
        )
    where = f"saatrial/report/{_PUBLISHED_FOLDER}/{sid}.yaml"
    return published, f"published reference {where} ({ref_registry})"


def _section_of(name: str) -> str | None:
    """The section a table key or notice ``where`` belongs to (None: Notices only)."""
    lowered = name.lower()
    if lowered in FIGURE_SECTION:
        return FIGURE_SECTION[lowered]
    if lowered in SECTIONS:
        return lowered
    tokens = set(re.split(r"[^a-z0-9]+", lowered))
    for section, substrings, words in _KEYWORDS:
        if any(s in lowered for s in substrings) or tokens.intersection(words):
            return section
    return None


def format_value(value: Any, *, as_written: bool = False) -> str:
    """A published or reproduced value as printed in the reproduction table.

    Reproduced numbers with up to four significant digits; published numbers
    (``as_written=True``) exactly as the published file writes them (``0.0``
    stays ``0.0``); lists elementwise; missing as "not computed".

    Examples
    --------
    >>> format_value(0.38095), format_value(48.0), format_value([5, 54.0]), format_value(None)
    ('0.381', '48', '[5, 54]', 'not computed')
    >>> format_value(0.0, as_written=True), format_value([0.0, 0.36], as_written=True)
    ('0.0', '[0.0, 0.36]')
    >>> format_value({"MSC": 4, "CONTROL": 2})
    'MSC: 4, CONTROL: 2'
    """
    if value is None:
        return "not computed"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        try:
            f = float(value)
        except (TypeError, ValueError):
            return str(value)
        if f != f:
            return "not computed"
        if as_written and isinstance(value, (int, float)):
            return repr(value)
        return format(f, ".4g")
    if isinstance(value, Mapping):
        return ", ".join(
            f"{k}: {format_value(v, as_written=as_written)}" for k, v in value.items()
        )
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v, as_written=as_written) for v in value) + "]"
    return str(value)


def _format_difference(diff: float | None) -> str:
    if diff is None or diff != diff:
        return ""
    return "0" if diff == 0 else format(diff, "+.2g")


def reproduction_section(
    rows: Sequence[ReproductionRow], tolerances: Mapping[str, Any] | None = None
) -> Section:
    """The Reproduction section: "N of M reproduced", then one table row per published leaf.

    Examples
    --------
    >>> rows = [ReproductionRow("long_term.ffs_logrank_p", 0.153, 0.1531, 0.0001, "± 0.001", True),
    ...         ReproductionRow("relapse", 0, 1, 1.0, "exact", False, "one relapse derived")]
    >>> s = reproduction_section(rows)
    >>> s.paragraphs[0]
    '✗ 1 of 2 published numbers reproduced within tolerance; not reproduced: relapse.'
    >>> s.tables[0].frame.iloc[1].tolist()
    ['relapse', '0', '1', '+1', 'exact', '✗ FAIL', 'one relapse derived']
    """
    n_pass = sum(r.passed for r in rows)
    failed = [r.key for r in rows if not r.passed]
    mark = PASS_MARK if not failed else FAIL_MARK
    head = f"{mark} {n_pass} of {len(rows)} published numbers reproduced within tolerance"
    head += f"; not reproduced: {', '.join(failed)}." if failed else "."
    frame = pd.DataFrame(
        [
            {
                "Published result": r.key,
                "Published": format_value(r.published, as_written=True),
                "Reproduced": format_value(r.reproduced),
                "Difference": _format_difference(r.difference),
                "Tolerance": r.tolerance,
                "Result": f"{PASS_MARK} pass" if r.passed else f"{FAIL_MARK} FAIL",
                "Note": r.note,
            }
            for r in rows
        ],
        columns=[
            "Published result", "Published", "Reproduced", "Difference", "Tolerance",
            "Result", "Note",
        ],
    )
    paragraphs = [
        head,
        "Every number that the paper (Lan et al., BMC Pediatrics 2021) published, beside "
        "the number this run computed from the study data, their difference and the "
        "tolerance it must meet. Keys are dotted paths in the published results file "
        "(list items by index).",
    ]
    if tolerances:
        text = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in tolerances.items())
        paragraphs.append(f"Tolerances: {text} (\"exact\" = equal at the printed precision).")
    table = ReportTable(
        "reproduction",
        "Published versus reproduced results",
        frame,
        (f"{PASS_MARK} = within tolerance; {FAIL_MARK} = not reproduced (row shaded).",),
    )
    return Section("reproduction", SECTIONS["reproduction"], paragraphs, [table])


def _get(results: Mapping[str, Any], path: str) -> Any:
    node: Any = results
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return None
    return node


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if f == f else None


def _pct(value: Any) -> str | None:
    f = _num(value)
    return None if f is None else f"{100 * f:.1f} %"


#: Short names of the published ANOVA parameters for the summary line.
_ANOVA_NAMES = {
    "PLT": "platelets",
    "ANC": "ANC",
    "HGB": "haemoglobin",
    "ARC": "reticulocytes",
    "CD3CD4_pct": "CD3+CD4+ %",
    "CD3CD8_pct": "CD3+CD8+ %",
    "TREG_pct": "Treg %",
}


def _summary_paragraphs(
    analysis: Any,
    rows: Sequence[ReproductionRow],
    has_reference: bool,
    n_notices: int,
) -> list[str]:
    """Key results in a few lines, read from ``analysis.results`` (nothing recomputed)."""
    results: Mapping[str, Any] = analysis.results
    arms: Sequence[str] = analysis.arms

    def label(arm: str) -> str:
        return str(analysis.arm_labels.get(arm, arm))

    total = sum(int(n) for n in analysis.arm_n.values())
    out = [
        f"{total} patients: "
        + (", ".join(f"{label(a)} n = {analysis.arm_n.get(a, 0)}" for a in arms) or "no arms")
        + "."
    ]
    resp = []
    for arm in arms:
        counts = _get(results, f"response_day90.{arm}")
        if isinstance(counts, Mapping) and counts:
            resp.append(
                f"{label(arm)} " + ", ".join(f"{k} {format_value(v)}" for k, v in counts.items())
            )
    out.append(
        "Response at day 90: " + "; ".join(resp) + "."
        if resp
        else "Response at day 90: not computed (see Notices)."
    )
    surv = []
    for name, key in (("overall survival", "os_4y"), ("failure-free survival", "ffs_4y")):
        parts = []
        for arm in arms:
            est = _pct(_get(results, f"long_term.{key}.{arm}.est"))
            se = _pct(_get(results, f"long_term.{key}.{arm}.se"))
            if est is not None:
                parts.append(f"{label(arm)} {est}" + (f" ± {se}" if se else ""))
        surv.append(
            f"4-year {name}: " + ("; ".join(parts) if parts else "not computed (see Notices)")
        )
    p_ffs = _num(_get(results, "long_term.ffs_logrank_p"))
    line = ". ".join(surv)
    if p_ffs is not None:
        line += f" (FFS log-rank p = {p_ffs:.3f})"
    out.append(line + ".")
    fu = _num(_get(results, "long_term.median_follow_up_months"))
    rng = _get(results, "long_term.follow_up_range_months")
    if fu is not None:
        text = f"Median follow-up {fu:.0f} months"
        lo, hi = (None, None)
        if isinstance(rng, (list, tuple)) and len(rng) == 2:
            lo, hi = _num(rng[0]), _num(rng[1])
        if lo is not None and hi is not None:
            text += f" (range {lo:.0f}–{hi:.0f})"
        out.append(text + " (median of the observed times).")
    anova = _get(results, "repeated_measures_anova_p")
    if isinstance(anova, Mapping) and anova and all(_num(v) is None for v in anova.values()):
        out.append("Repeated-measures ANOVA: not computed (see Notices).")
    elif isinstance(anova, Mapping) and anova:
        ps = [
            f"{_ANOVA_NAMES.get(k, k)} {'not computed' if _num(v) is None else f'{_num(v):.3f}'}"
            for k, v in anova.items()
        ]
        out.append("Repeated-measures ANOVA, arm × time interaction p: " + "; ".join(ps) + ".")
    if has_reference:
        n_pass = sum(r.passed for r in rows)
        mark = PASS_MARK if n_pass == len(rows) else FAIL_MARK
        out.append(
            f"{mark} Reproduction: {n_pass} of {len(rows)} published numbers reproduced "
            "within tolerance (see Reproduction)."
        )
    out.append(
        f"{n_notices} notice{'s' if n_notices != 1 else ''} on what could not be computed "
        "(see Notices)."
        if n_notices
        else "Everything in the report could be computed (no notices)."
    )
    return out


def _notices_section(notices: Sequence[Notice]) -> Section:
    section = Section("notices", SECTIONS["notices"])
    if not notices:
        section.paragraphs.append("Every table, figure and statistic could be computed.")
        return section
    section.paragraphs.append(
        f"{len(notices)} item{'s' if len(notices) != 1 else ''} could not be computed or "
        "were computed on fewer data than planned; each says where and why."
    )
    frame = pd.DataFrame(
        [{"Where": n.where, "What and why": n.message} for n in notices],
        columns=["Where", "What and why"],
    )
    section.tables.append(ReportTable("notices", "What could not be computed, and why", frame))
    return section


def _data_notes_section(ads: AnalysisDatasets) -> Section:
    section = Section("data_notes", SECTIONS["data_notes"])
    notes = ads.notes
    section.paragraphs.append(
        "Findings of the derivation of the analysis datasets (ADaM): what could not be "
        "derived, and recorded values that differ from the values computed by the clinical "
        "rules. The datasets and these notes are written beside the report (adam/)."
    )
    if not notes:
        section.paragraphs.append("No data notes.")
        return section
    frame = pd.DataFrame(
        [
            {"Dataset": n.dataset, "Subject": n.subject_id or "(study)", "Note": n.message}
            for n in notes
        ],
        columns=["Dataset", "Subject", "Note"],
    )
    section.tables.append(ReportTable("data_notes", f"Data notes ({len(notes)})", frame))
    return section


def _provenance_section(
    study: StudyData, protocol: Protocol, facts: StudyFacts, reference: str
) -> Section:
    import matplotlib
    import numpy
    import reportlab
    import scipy
    import statsmodels

    lines = [
        f"Study data: {study.source} (study_id {facts.study_id or '?'}, data cut-off "
        f"{facts.data_cutoff or 'not recorded'}).",
    ]
    if study.source.startswith("bundled:"):
        name = study.source.split(":", 1)[1]
        lines.append(
            f"The bundled study is reconstructed from the published paper; how each value was "
            f"obtained is in saatrial/study/bundled/{name}/PROVENANCE.md."
        )
    lines += [
        f"Protocol: {protocol.protocol_id} version {protocol.version} "
        f"(registry {protocol.registry_id}); decisions D1-D19 as in TRIAL.md.",
        f"Reproduction: {reference}.",
        "Outputs beside this page: report.pdf (the same report), results.json (every "
        "computed number under the keys of the published results), reproduction.csv, "
        "figures/*.png and *.svg, adam/*.csv (ADSL, ADLB, ADRS, ADTTE, ADAE and the "
        "derivation notes).",
        f"Software: saatrial {__version__}; Python {platform.python_version()}; numpy "
        f"{numpy.__version__}; pandas {pd.__version__}; scipy {scipy.__version__}; "
        f"statsmodels {statsmodels.__version__}; matplotlib {matplotlib.__version__}; "
        f"reportlab {reportlab.Version}.",
    ]
    return Section("provenance", SECTIONS["provenance"], lines)


def _generated_at() -> str:
    """UTC time of generation; ``SOURCE_DATE_EPOCH`` (reproducible builds) when set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        moment = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    else:
        moment = dt.datetime.now(tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _arrange(
    sections: dict[str, Section],
    tables: Sequence[ReportTable],
    figures: Sequence[ReportFigure],
    notices: Sequence[Notice],
) -> None:
    """Put each table, figure and notice into its section (unknown tables: Notices)."""
    for table in tables:
        key = _section_of(table.key) or _section_of(table.title) or "notices"
        sections[key].tables.append(table)
    for figure in figures:
        sections[FIGURE_SECTION.get(figure.key, "notices")].figures.append(figure)
    for notice in notices:
        home = _section_of(notice.where)
        if home is not None and home in sections and home != "notices":
            sections[home].notices.append(notice)


def build_report(
    study: StudyData,
    protocol: Protocol | None = None,
    published: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[Report, AnalysisDatasets]:
    """Build the report of a study.

    Parameters
    ----------
    study : StudyData
        A validated study.
    protocol : Protocol, optional
        Default: the protocol named by the study's ``protocol_id``.
    published : dict, optional
        Published results to check against (the layout of
        ``published_results.yaml``). Default: the package's copy for this
        study if there is one (:func:`published_for`), else no reproduction.
    progress : callable, optional
        Called with a short description at the start of each step.

    Returns
    -------
    (Report, AnalysisDatasets)

    Raises
    ------
    FileNotFoundError
        The study names a protocol that cannot be loaded.

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> report, ads = build_report(load_bundled_study())  # doctest: +SKIP
    >>> [s.key for s in report.sections][:3]  # doctest: +SKIP
    ['summary', 'reproduction', 'consort']
    """
    from saatrial.report.analysis import analyze
    from saatrial.report.figures import build_figures
    from saatrial.report.methods import methods_text
    from saatrial.report.reproduction import check_reproduction
    from saatrial.report.tables import build_tables

    step = progress or (lambda _text: None)
    facts = study_facts(study)
    if protocol is None:
        protocol = load_protocol(facts.protocol_id or "nct02218437")
    step("deriving analysis datasets (ADSL, ADLB, ADRS, ADTTE, ADAE)")
    ads = derive_all(study, protocol)
    step("analysing (descriptives, tests, Kaplan-Meier, log-rank, ANOVA)")
    analysis = analyze(ads, protocol, study=study)
    notices: list[Notice] = list(analysis.notices)
    step("building tables")
    tables = list(build_tables(ads, analysis))
    step("drawing figures")
    logrank_p = {
        str(k): (None if v is None else getattr(v, "pvalue", None))
        for k, v in analysis.logrank.items()
    }
    figures, figure_notices = build_figures(ads, analysis.anova_p, logrank_p, study=study)
    notices.extend(figure_notices)

    if published is not None:
        reference = "published results given by the caller"
    else:
        published, reference = published_for(study)
    rows: list[ReproductionRow] = []
    if published is not None:
        step("checking the published numbers")
        rows = list(check_reproduction(analysis.results, published))
    else:
        notices.append(Notice("Reproduction", f"not checked: {reference}"))

    step("assembling the report")
    sections = {key: Section(key, title) for key, title in SECTIONS.items()}
    _arrange(sections, tables, figures, notices)
    sections["methods"].paragraphs.extend(methods_text(analysis))
    sections["summary"].paragraphs.extend(
        _summary_paragraphs(analysis, rows, published is not None, len(notices))
    )
    if published is not None:
        repro = reproduction_section(rows, published.get("tolerances"))
        repro.notices.extend(sections["reproduction"].notices)
        repro.tables.extend(sections["reproduction"].tables)
        sections["reproduction"] = repro
    else:
        del sections["reproduction"]
    sections["notices"] = _merge(_notices_section(notices), sections["notices"])
    sections["data_notes"] = _data_notes_section(ads)
    sections["provenance"] = _provenance_section(study, protocol, facts, reference)
    for key, section in sections.items():
        if key not in {"notices", "data_notes", "provenance", "summary"} and not (
            section.paragraphs or section.tables or section.figures or section.notices
        ):
            section.paragraphs.append("Nothing to show: see Notices.")

    generated_by = f"saatrial {__version__}"
    meta = {
        "Study": facts.title or "(untitled)",
        "Study id": facts.study_id or "(none)",
        "Registry id": facts.registry_id or "(none)",
        "Data cut-off": facts.data_cutoff or "(not recorded)",
        "Protocol": f"{protocol.protocol_id} v{protocol.version}",
        "Source": study.source,
        "Generated by": generated_by,
        "Generated at": _generated_at(),
    }
    title = f"{facts.registry_id or facts.study_id or 'Study'}: trial report"
    report = Report(
        title=title,
        study_source=study.source,
        sections=list(sections.values()),
        results=analysis.results,
        reproduction=rows,
        notices=notices,
        generated_by=generated_by,
        meta=meta,
    )
    return report, ads


def _merge(first: Section, extra: Section) -> Section:
    """``first`` with the tables/figures/paragraphs that were placed into ``extra``."""
    first.paragraphs.extend(extra.paragraphs)
    first.tables.extend(extra.tables)
    first.figures.extend(extra.figures)
    return first
