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


flow_app = typer.Typer(
    help="Flow cytometry: Treg % and TruCount counts from FCS files (TRIAL.md section 8).",
    no_args_is_help=True,
)
app.add_typer(flow_app, name="flow")


@flow_app.command("treg")
def flow_treg_cmd(
    stained: str = typer.Argument(..., help="Stained tube FCS (CD4/CD25/CD127)."),
    isotype: str = typer.Argument(..., help="Isotype tube FCS (CD4/IgG1/IgG1)."),
    beads: int = typer.Option(..., "--beads", help="TruCount beads per tube (pouch label)."),
    volume_ul: float = typer.Option(100.0, "--volume-ul", help="Blood volume in the tube, uL."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    panel: str | None = typer.Option(None, "--panel", help="Panel YAML or bundled panel name."),
    plot: str | None = typer.Option(None, "--plot", help="Write the gates as a PNG here."),
    gatingml: str | None = typer.Option(None, "--gatingml", help="Write Gating-ML 2.0 here."),
) -> None:
    """Treg % of CD4+ and CD4+/Treg cells per uL for one sample. Exit 1 on an error."""
    from saatrial.cytometry.console import run_treg

    raise typer.Exit(run_treg(stained, isotype, beads_per_tube=beads, blood_volume_ul=volume_ul,
                              as_json=as_json, panel=panel, plot=plot, gatingml=gatingml))


@flow_app.command("batch")
def flow_batch_cmd(
    manifest: str = typer.Argument(..., help="Manifest CSV (one row per sample)."),
    out: str = typer.Option(..., "--out", help="Output folder (created atomically)."),
    jobs: int = typer.Option(1, "--jobs", min=1, help="Worker processes."),
    force: bool = typer.Option(False, "--force", help="Replace a non-empty output folder."),
    panel: str | None = typer.Option(None, "--panel", help="Panel YAML or bundled panel name."),
) -> None:
    """Analyse every sample of a manifest: results.csv, qc.csv, PNGs, Gating-ML, log.

    Exit 0 when all samples were analysed, 1 when any failed (the others are
    still written; see failures.csv), 2 when the manifest or --out is unusable.
    """
    from saatrial.cytometry.console import run_batch_command

    raise typer.Exit(run_batch_command(manifest, out, jobs=jobs, force=force, panel=panel))


@flow_app.command("import")
def flow_import_cmd(
    results: str = typer.Argument(..., help="results.csv of 'saatrial flow batch'."),
    study: str = typer.Argument(..., help="Study folder (its tcell_subsets.csv is updated)."),
    replace: bool = typer.Option(False, "--replace", help="Replace rows with the same key."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and report; write nothing."),
) -> None:
    """Merge flow results into the study's T-cell subsets table (validated, atomic)."""
    from saatrial.cytometry.console import run_import_command

    raise typer.Exit(run_import_command(results, study, replace=replace, dry_run=dry_run))


@flow_app.command("synth")
def flow_synth_cmd(
    out: str = typer.Argument(..., help="Folder for the demo batch."),
    samples: int = typer.Option(20, "--samples", min=1, help="Samples (tube pairs)."),
    broken: int = typer.Option(2, "--broken", min=0, help="Deliberately broken samples."),
    events: int = typer.Option(20_000, "--events", help="Approximate events per tube."),
    study: str = typer.Option("bundled", "--study", help="Study whose subjects are used."),
    seed: int = typer.Option(2024, "--seed", help="Random seed."),
    force: bool = typer.Option(False, "--force", help="Replace a non-empty folder."),
) -> None:
    """Write a demo batch of synthetic FCS pairs with a manifest and the truth."""
    from saatrial.cytometry.console import run_synth_command

    raise typer.Exit(run_synth_command(out, n_samples=samples, n_broken=broken, events=events,
                                       study=study, seed=seed, force=force))


@app.command("serve")
def serve_cmd(
    port: int = typer.Option(8000, "--port", help="TCP port on 127.0.0.1."),
) -> None:
    """Run the eCRF web app on 127.0.0.1 (migrates first; dev server only if SAATRIAL_DEV=1)."""
    from saatrial.edc.commands import run_serve

    raise typer.Exit(run_serve(port))


@app.command("createuser")
def createuser_cmd(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(..., "--role", help="Role from roles.yaml (e.g. investigator)."),
    site: str | None = typer.Option(None, "--site", help="Site id (site-scoped roles only)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Create an eCRF user with one role (audited)."""
    from saatrial.edc.commands import run_createuser

    raise typer.Exit(run_createuser(username, role, site, password_stdin))


audit_app = typer.Typer(help="The eCRF audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify_cmd() -> None:
    """Recompute the audit hash chain: exit 0 if intact, 1 naming the first broken row."""
    from saatrial.edc.commands import run_audit_verify

    raise typer.Exit(run_audit_verify())


db_app = typer.Typer(help="Move a study into and out of the eCRF database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("load")
def db_load_cmd(
    study: str = typer.Argument(..., help="Study folder or .xlsx, or 'bundled'."),
) -> None:
    """Load a validated study into an empty eCRF database (audited)."""
    from saatrial.edc.commands import run_db_load

    raise typer.Exit(run_db_load(study))


@db_app.command("export")
def db_export_cmd(
    target: str = typer.Argument(..., help="Folder for CSV files, or a .xlsx file."),
    site: str | None = typer.Option(None, "--site", help="Export one site only."),
    force: bool = typer.Option(False, "--force", help="Replace an existing folder/file."),
) -> None:
    """Export the eCRF database as a study (CSV folder or XLSX), audited."""
    from saatrial.edc.commands import run_db_export

    raise typer.Exit(run_db_export(target, site, force))


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
    out: str = typer.Option("out", "--out", help="Folder for the report (created if needed)."),
) -> None:
    """Report on the bundled NCT02218437 study: HTML, PDF, figures, results.json, ADaM CSVs.

    Then, with the web extra installed, load the study into the eCRF's default
    database and print a demo login. Exit 1 when a published number is not
    reproduced (each is printed); the eCRF part never changes the exit code.
    """
    from pathlib import Path

    from saatrial.edc.demo import run_edc_demo
    from saatrial.report.console import run_demo

    code = run_demo(out)
    if (Path(out) / "index.html").is_file():  # a report was written (not refused up front)
        run_edc_demo(typer.echo)
    raise typer.Exit(code)


@app.command("report")
def report_cmd(
    study: str = typer.Argument(..., help="Study folder of <table>.csv files or .xlsx workbook."),
    out: str = typer.Option(..., "--out", help="Folder for the report (created if needed)."),
) -> None:
    """Validate a study and write its report (HTML, PDF, figures, results.json, ADaM CSVs).

    Exit 1 on hard validation errors (nothing written) or when a published
    number is not reproduced; 0 otherwise.
    """
    from saatrial.report.console import run_report

    raise typer.Exit(run_report(study, out))
