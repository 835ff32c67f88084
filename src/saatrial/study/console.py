"""Terminal front ends of the study layer, called by the ``saatrial`` CLI commands."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from saatrial.study.validation import ValidationReport, validate_path

__all__ = ["print_report", "run_template", "run_validate"]


def print_report(report: ValidationReport, console: Console) -> None:
    """Print each problem (errors red, warnings yellow) and the one-line summary."""
    for problem in report.problems:
        style = "red" if problem.is_error else "yellow"
        console.print(str(problem), style=style, markup=False, highlight=False, soft_wrap=True)
    style = "bold red" if report.errors else ("yellow" if report.warnings else "green")
    console.print(report.summary(), style=style, markup=False, highlight=False, soft_wrap=True)


def run_validate(path: str | Path, console: Console | None = None) -> int:
    """Validate a study folder or workbook and print the problems.

    Returns
    -------
    int
        Exit code: 1 on any hard error, 0 otherwise (warnings only -> 0).
    """
    report = validate_path(path)
    print_report(report, console or Console())
    return 0 if report.ok else 1


def run_template(folder: str | Path, force: bool = False, console: Console | None = None) -> int:
    """Write an empty study template; exit code 1 (with the reason) if the folder is not empty."""
    from saatrial.study.template import write_template

    console = console or Console()
    try:
        out = write_template(folder, overwrite=force)
    except FileExistsError as err:
        console.print(f"error: {err}", style="red", markup=False, highlight=False, soft_wrap=True)
        return 1
    console.print(
        f"wrote an empty study template to {out} (see FIELD_GUIDE.md)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return 0
