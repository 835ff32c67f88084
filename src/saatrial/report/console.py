"""Console front ends of the report: ``saatrial report`` / ``saatrial demo``, and summaries.

:func:`run_report` validates a study (hard errors: print them, write nothing,
exit 1), builds the report with a live progress display, writes it and prints
what it wrote; the exit code is 1 when a published number is not reproduced
(each failure is printed) and 0 otherwise. :func:`run_demo` does the same for
the bundled study. :func:`print_study_summary` is the quick per-arm look.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from saatrial.report.summary import ArmSummary, summarize_arms
from saatrial.study import StudyData, StudyDataError, load_bundled_study, validate

if TYPE_CHECKING:
    from saatrial.report.model import Report
    from saatrial.report.writers import ReportFiles
    from saatrial.study.validation import ValidationReport


def arm_summary_table(summaries: list[ArmSummary]) -> Table:
    """A rich table with one column per arm."""
    table = Table(title="Per-arm summary", show_lines=False)
    table.add_column("")
    for s in summaries:
        table.add_column(f"{s.label} (n={s.n_subjects})", justify="right")

    def row(name: str, cells: list[str]) -> None:
        table.add_row(name, *cells)

    row("Male / female", [f"{s.n_male} / {s.n_female}" for s in summaries])
    row("Age, years, median (range)", [s.age_years.format(0) for s in summaries])
    row(
        "Diagnosis to rATG, days, median (range)",
        [s.days_diagnosis_to_atg.format(0) for s in summaries],
    )
    units = {"ANC": "10^9/L", "PLT": "10^9/L", "HGB": "g/L", "ARC": "10^9/L"}
    for test, unit in units.items():
        row(
            f"Baseline {test}, {unit}, median (range)",
            [s.baseline[test].format(2) for s in summaries],
        )
    for k in ("CR", "PR", "NR"):
        row(f"Day-90 response {k} (recorded)", [str(s.day90_response[k]) for s in summaries])
    for k, label in (
        ("DEATH", "Deaths"),
        ("HSCT", "Salvage HSCT"),
        ("LOST_TO_FOLLOW_UP", "Lost to follow-up"),
        ("RELAPSE", "Relapse"),
        ("CLONAL_EVOLUTION", "Clonal evolution"),
    ):
        row(label, [str(s.events[k]) for s in summaries])
    return table


def print_study_summary(study: StudyData, console: Console | None = None) -> int:
    """Validate a study, print problems and the per-arm summary; return an exit code."""
    console = console or Console()
    report = validate(study)
    for p in report.problems:
        style = "red" if p.severity == "error" else "yellow"
        console.print(str(p), style=style, markup=False, highlight=False)
    console.print(
        f"{len(report.errors)} errors, {len(report.warnings)} warnings in {study.source}"
    )
    console.print(arm_summary_table(summarize_arms(study)))
    return 0 if report.ok else 1


class _Steps:
    """Progress callback for :func:`~saatrial.report.build.build_report`: a live
    spinner on the current step, and a line with its time when it is done."""

    def __init__(self, console: Console, status: Any) -> None:
        self.console = console
        self.status = status
        self.current: str | None = None
        self.started = 0.0

    def __call__(self, text: str) -> None:
        self.done()
        self.current, self.started = text, time.perf_counter()
        self.status.update(f"[bold]{text}[/bold] ...")

    def done(self) -> None:
        if self.current is not None:
            seconds = time.perf_counter() - self.started
            self.console.print(
                f"  [green]✓[/green] {self.current} ({seconds:.1f} s)", highlight=False
            )
            self.current = None


def _print_problems(report: ValidationReport, console: Console, limit: int = 20) -> None:
    for problem in report.errors:
        console.print(str(problem), style="red", markup=False, highlight=False, soft_wrap=True)
    for problem in report.warnings[:limit]:
        console.print(str(problem), style="yellow", markup=False, highlight=False, soft_wrap=True)
    if len(report.warnings) > limit:
        console.print(f"... and {len(report.warnings) - limit} more warnings", style="yellow")
    console.print(report.summary(), markup=False, highlight=False, soft_wrap=True)


def print_outcome(report: Report, files: ReportFiles, console: Console) -> int:
    """Print what was written and the reproduction result; return the exit code."""
    console.print(f"Report written to {files.out_dir}:", markup=False, highlight=False,
                  soft_wrap=True)
    for path in (files.index_html, files.report_pdf, files.results_json, files.reproduction_csv):
        if path is not None:
            console.print(f"  {path}", highlight=False, markup=False, soft_wrap=True)
    console.print(
        f"  {files.out_dir / 'figures'} ({len(files.figures)} files), "
        f"{files.out_dir / 'adam'} ({len(files.adam)} files)",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if report.notices:
        console.print(
            f"{len(report.notices)} notices on what could not be computed (see the report):",
            style="yellow",
        )
        for notice in report.notices:
            console.print(
                f"  {notice.where}: {notice.message}", markup=False, highlight=False,
                soft_wrap=True,
            )
    rows = report.reproduction
    if not rows:
        console.print("No published reference for this study: no reproduction check.")
        return 0
    failed = [r for r in rows if not r.passed]
    if not failed:
        console.print(
            f"[green]✓ {len(rows)} of {len(rows)} published numbers reproduced.[/green]",
            highlight=False,
        )
        return 0
    console.print(
        f"[red]✗ {len(rows) - len(failed)} of {len(rows)} published numbers reproduced; "
        f"{len(failed)} not:[/red]",
        highlight=False,
    )
    for r in failed:
        note = f" ({r.note})" if r.note else ""
        console.print(
            f"  {r.key}: published {r.published!r}, reproduced {r.reproduced!r}{note}",
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    return 1


def report_study(study: StudyData, out_dir: str | Path, console: Console) -> int:
    """Build and write the report of a loaded study; print progress and the outcome."""
    from saatrial.report.build import build_report
    from saatrial.report.writers import write_report

    started = time.perf_counter()
    with console.status("starting ...") as status:
        steps = _Steps(console, status)
        report, ads = build_report(study, progress=steps)
        steps("writing HTML, PDF, figures, results.json and ADaM CSVs")
        files = write_report(report, ads, out_dir)
        steps.done()
    console.print(f"Done in {time.perf_counter() - started:.1f} s.", highlight=False)
    return print_outcome(report, files, console)


def _out_problem(out_dir: str | Path) -> str | None:
    """Why ``out_dir`` cannot take a report (checked before the work starts), or None."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        return f"--out {out}: exists and is not a folder"
    return None


def run_report(study_path: str | Path, out_dir: str | Path, console: Console | None = None) -> int:
    """``saatrial report STUDY_PATH --out DIR``: validate, build, write; the exit code.

    Returns
    -------
    int
        1 when the study has hard validation errors (printed; nothing written),
        when the output cannot be written, or when a published number is not
        reproduced (each printed); 0 otherwise.
    """
    from saatrial.study import validate_path

    console = console or Console()
    problem = _out_problem(out_dir)
    if problem:
        console.print(
            f"error: {problem}", style="red", markup=False, highlight=False, soft_wrap=True
        )
        return 1
    checked = validate_path(study_path)
    if not checked.ok:
        _print_problems(checked, console)
        console.print(
            f"{study_path}: hard validation errors; no report written.",
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return 1
    if checked.warnings:
        _print_problems(checked, console)
    try:
        study = StudyData.read(study_path)
        return report_study(study, out_dir, console)
    except (StudyDataError, FileNotFoundError, NotADirectoryError, PermissionError) as err:
        console.print(
            f"error: {err}", style="red", markup=False, highlight=False, soft_wrap=True
        )
        return 1


def run_demo(out_dir: str | Path = "out", console: Console | None = None) -> int:
    """``saatrial demo``: the report of the bundled NCT02218437 study, written to ``out_dir``."""
    console = console or Console()
    problem = _out_problem(out_dir)
    if problem:
        console.print(
            f"error: {problem}", style="red", markup=False, highlight=False, soft_wrap=True
        )
        return 1
    study = load_bundled_study()
    checked = validate(study)
    if not checked.ok:  # a packaging bug; say so rather than report on bad data
        _print_problems(checked, console)
        return 1
    console.print(f"Bundled study {study.source}: {len(study.subject_ids)} subjects.")
    try:
        return report_study(study, out_dir, console)
    except (NotADirectoryError, PermissionError) as err:
        console.print(
            f"error: {err}", style="red", markup=False, highlight=False, soft_wrap=True
        )
        return 1
