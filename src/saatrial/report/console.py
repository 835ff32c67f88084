"""Console rendering (rich) of study summaries for the CLI."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from saatrial.report.summary import ArmSummary, summarize_arms
from saatrial.study import StudyData, load_bundled_study, validate


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


def run_demo(out_dir: str) -> int:
    """The main job until the report exists: validate and summarise the bundled study."""
    del out_dir  # the report (issue 5) will write here
    return print_study_summary(load_bundled_study())
