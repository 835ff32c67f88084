"""Helpers shared by the R3 report tests (assembly, writers, CLI, browser, PDF pages).

Hand-made :class:`Report` objects exercise the writers without the analysis;
:func:`bundled_output` builds and writes the bundled study's report once per
test process (it takes seconds) for the tests that read the real output.
"""

from __future__ import annotations

import atexit
import functools
import io
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from saatrial.report.model import Notice, Report, ReportFigure, ReportTable, Section


def tiny_png(width_in: float = 3.0, height_in: float = 2.0, dpi: int = 100) -> bytes:
    """A small real PNG (a line plot) drawn with matplotlib's Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [0, 1, 0.5], color="#0072B2")
    ax.set_xlabel("Time (months)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def hand_report(*, png: bytes | None = None, rows: int = 3) -> Report:
    """A small report with every kind of content the writers render."""
    png = png if png is not None else tiny_png()
    table = ReportTable(
        "table1",
        "Table 1. Baseline characteristics by arm",
        pd.DataFrame(
            {
                "Characteristic": [f"Row {i} <b>&" for i in range(rows)],
                "MSC (n = 9)": ["4 (1–10)"] * rows,
                "Control (n = 9)": [None] + ["5 (2–12)"] * (rows - 1),
                "p": ["0.45 ≥ χ²"] * rows,
            }
        ),
        ("Student's t-test; χ² and Fisher's exact test.",),
    )
    repro = ReportTable(
        "reproduction",
        "Published versus reproduced results",
        pd.DataFrame(
            {
                "Published result": ["long_term.ffs_logrank_p", "relapse"],
                "Result": ["✓ pass", "✗ FAIL"],
            }
        ),
    )
    figure = ReportFigure(
        "figure3_ffs",
        "Figure 3. Failure-free survival",
        "Kaplan–Meier curves; log-rank p = 0.153.",
        png,
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        "Kaplan-Meier curves of failure-free survival by arm",
    )
    sections = [
        Section("summary", "Summary", ["18 patients.", "Line one\nline two <script>x</script>"]),
        Section(
            "reproduction",
            "Reproduction",
            ["✗ 1 of 2 published numbers reproduced within tolerance; not reproduced: relapse."],
            [repro],
        ),
        Section("table1", "Table 1", [], [table], notices=[Notice("Table 1 (age)", "1 missing")]),
        Section("survival", "Survival", ["FFS and OS."], [], [figure]),
        Section("notices", "Notices", ["1 item could not be computed."]),
    ]
    return Report(
        title="NCT00000000 report: a hand-made study",
        study_source="<memory>",
        sections=sections,
        results={"long_term": {"ffs_logrank_p": 0.153, "se": float("nan")}},
        reproduction=[],
        notices=[Notice("Table 1 (age)", "1 missing")],
        generated_by="saatrial test",
        meta={"Study id": "t1", "Registry id": "NCT00000000", "Data cut-off": "2018-04-13"},
    )


#: Fixed "generated at" for reproducible test reports (reproducible-builds convention).
EPOCH = "1700000000"


def build_fixed(study, **kwargs):
    """``build_report`` with ``SOURCE_DATE_EPOCH`` set, so equal inputs give equal reports."""
    from saatrial.report.build import build_report

    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        return build_report(study, **kwargs)
    finally:
        if before is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


@functools.cache
def bundled_report():
    """``(report, ads)`` of the bundled study, built once per process."""
    from saatrial.study import load_bundled_study

    return build_fixed(load_bundled_study())


def variant(base, source: str = "variant", **frames):
    """A copy of study ``base`` with some tables replaced (keyword = table name)."""
    from saatrial.study import StudyData

    tables = {name: df.copy() for name, df in base.tables.items()}
    tables.update(frames)
    return StudyData(tables, base.dictionary, source)


def renamed(base, study_id: str = "robust01", registry_id: str = "NCT99999999", **frames):
    """A variant under another study id and registry id (so it has no published reference)."""
    study = base["study"].copy()
    study["study_id"] = pd.array([study_id] * len(study), dtype="string")
    study["registry_id"] = pd.array([registry_id] * len(study), dtype="string")
    return variant(base, study=study, **frames)


@functools.cache
def bundled_output() -> Path:
    """The bundled study's report written once per process into a temporary folder."""
    from saatrial.report.writers import write_report

    report, ads = bundled_report()
    root = Path(tempfile.mkdtemp(prefix="saatrial-r3-"))
    atexit.register(shutil.rmtree, root, True)
    write_report(report, ads, root / "out")
    return root / "out"
