"""The saatrial command line. Each command parses arguments and calls one function."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="saatrial",
    help="Run a paediatric SAA immunosuppression +/- UC-MSC trial: validate, analyse, report.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """saatrial: trial data, clinical rules, statistics and the report."""


@app.command("version")
def version_cmd() -> None:
    """Print the saatrial version."""
    from saatrial import __version__

    typer.echo(__version__)


# --- commands are added below this line, one function each ---


@app.command("schedule")
def schedule_cmd(
    study: str = typer.Argument(
        ..., help="Study folder or .xlsx, 'bundled', or '-' for none (give --arm etc.)."
    ),
    subject: str = typer.Argument(..., help="Subject id (a file label when STUDY is '-')."),
    out: str = typer.Option(".", "--out", help="Directory for <subject>_schedule.csv/.ics."),
    protocol: str | None = typer.Option(None, "--protocol", help="Protocol name or YAML."),
    arm: str | None = typer.Option(None, "--arm", help="Arm id (overrides the study)."),
    dose_level: str | None = typer.Option(None, "--dose-level", help="Dose level id."),
    weight_kg: float | None = typer.Option(None, "--weight-kg", help="Body weight, kg."),
    day1: str | None = typer.Option(None, "--day1", help="Study day 1 date, YYYY-MM-DD."),
) -> None:
    """Print a subject's dose and visit calendar; write it as CSV and iCalendar."""
    import datetime as dt

    from rich.console import Console

    from saatrial.protocol.schedule import run_schedule_command

    try:
        first = dt.date.fromisoformat(day1) if day1 else None
        tables = None
        if study != "-":
            from saatrial.study import StudyData, load_bundled_study

            data = load_bundled_study() if study == "bundled" else StudyData.read(study)
            tables = data.tables
        run_schedule_command(
            tables,
            subject,
            out,
            protocol=protocol,
            arm_id=arm,
            dose_level_id=dose_level,
            weight_kg=weight_kg,
            day1=first,
            console=Console(),
        )
    except (ValueError, FileNotFoundError, KeyError) as err:
        typer.echo(f"saatrial schedule: {err}", err=True)
        raise typer.Exit(2) from None


@app.command("validate")
def validate_cmd(
    path: str = typer.Argument(..., help="Study folder of <table>.csv files or .xlsx workbook."),
) -> None:
    """Check a study against the data dictionary, cross-table rules and protocol doses."""
    from saatrial.study.console import run_validate

    raise typer.Exit(run_validate(path))


@app.command("template")
def template_cmd(
    folder: str = typer.Argument(..., help="Folder to create with empty CSVs and FIELD_GUIDE.md."),
    force: bool = typer.Option(False, "--force", help="Replace files in a non-empty folder."),
) -> None:
    """Write an empty study (header-only CSV per table) and a field guide."""
    from saatrial.study.console import run_template

    raise typer.Exit(run_template(folder, force))


@app.command("demo")
def demo_cmd(
    out: str = typer.Option("out", "--out", help="Directory for outputs (used by the report)."),
) -> None:
    """Validate the bundled NCT02218437 study and print its per-arm summary."""
    from saatrial.report.console import run_demo

    raise typer.Exit(run_demo(out))
