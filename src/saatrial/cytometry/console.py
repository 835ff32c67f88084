"""Terminal front ends of ``saatrial flow ...`` (rich tables and progress bar).

Each ``run_*`` function does one command and returns its exit code; the CLI
(:mod:`saatrial.cli`) only parses arguments and calls it.

Exit codes: 0 success; 1 the work was done but something failed (a sample of
the batch, an import refused, an unreadable FCS file); 2 unusable input
before any work (bad manifest, output folder not empty, bad option).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from saatrial.cytometry.errors import CytometryError


def _err(console: Console, command: str, message: str) -> None:
    console.print(f"saatrial flow {command}: {message}", style="red", markup=False,
                  highlight=False, soft_wrap=True)


def run_treg(
    stained: str, isotype: str, *, beads_per_tube: int, blood_volume_ul: float = 100.0,
    as_json: bool = False, panel: str | None = None, plot: str | None = None,
    gatingml: str | None = None, console: Console | None = None,
    err_console: Console | None = None,
) -> int:
    """``saatrial flow treg``: analyse one sample; print JSON or a table. Exit 0, or 1 on error."""
    from saatrial.cytometry.batch import analyze_sample
    from saatrial.cytometry.panel import load_panel

    out = console or Console()
    err = err_console or Console(stderr=True)
    try:
        pnl = load_panel(panel) if panel else None
        a = analyze_sample(stained, isotype, beads_per_tube=beads_per_tube,
                           blood_volume_ul=blood_volume_ul, panel=pnl)
        written = []
        if plot:
            from saatrial.cytometry.plots import plot_treg

            written.append(plot_treg(a.result, a.stained, a.isotype, plot,
                                     label=Path(stained).stem))
        if gatingml:
            from saatrial.cytometry.gatingml import treg_gatingml, write_gatingml

            written.append(write_gatingml(gatingml, treg_gatingml(a.result, a.stained,
                                                                  a.isotype)))
    except (CytometryError, OSError) as exc:
        _err(err, "treg", str(exc))
        return 1
    r = a.result
    if as_json:
        doc = r.to_dict()
        doc["outputs"] = [str(p) for p in written]
        sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        return 0
    t = Table(title=f"Treg panel: {Path(stained).name} / {Path(isotype).name}")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    for name, value in (
        ("Treg % of CD4+", f"{r.treg_pct_of_cd4:.2f}"),
        ("CD4+ cells/uL", f"{r.cd4_per_ul:,.1f}"),
        ("Treg cells/uL", f"{r.treg_per_ul:,.2f}"),
        ("CD4+ events", f"{r.cd4_events:,}"),
        ("Treg events", f"{r.treg_events:,}"),
        ("bead events", f"{r.bead_events:,}"),
        ("beads per tube", f"{r.beads_per_tube:,}"),
        ("blood volume (uL)", f"{r.blood_volume_ul:g}"),
        ("CD4 threshold (stained / isotype)",
         f"{r.thresholds.cd4:,.1f} / {r.thresholds.cd4_isotype:,.1f}"),
        (f"CD25 threshold (isotype {r.parameters.isotype_percentile:g}th pct)",
         f"{r.thresholds.cd25:,.1f}"),
        (f"CD127 threshold (isotype {r.parameters.isotype_percentile:g}th pct)",
         f"{r.thresholds.cd127:,.1f}"),
    ):
        t.add_row(name, value)
    out.print(t)
    g = Table(title="gates (event counts)")
    for col in ("tube", "gate", "parent", "in", "of parent", "%"):
        g.add_column(col, justify="right" if col in ("in", "of parent", "%") else "left")
    for tube, gates in (("stained", r.gates), ("isotype", r.isotype_gates)):
        for x in gates:
            g.add_row(tube, x.name, x.parent or "all events", f"{x.n_in:,}", f"{x.n_parent:,}",
                      f"{x.pct_of_parent:.2f}")
    out.print(g)
    for w in r.warnings:
        out.print(f"warning: {w}", style="yellow", markup=False, highlight=False)
    for p in written:
        out.print(f"wrote {p}", markup=False, highlight=False, soft_wrap=True)
    return 0


def run_batch_command(
    manifest: str, out_dir: str, *, jobs: int = 1, force: bool = False,
    panel: str | None = None, console: Console | None = None,
) -> int:
    """``saatrial flow batch``: progress bar, summary. Exit 0 all ok, 1 any failed, 2 unusable."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    from saatrial.cytometry.batch import SampleOutcome, run_batch

    con = console or Console(stderr=True)
    progress = Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(),
        MofNCompleteColumn(), TextColumn("files done"), TimeElapsedColumn(), console=con,
    )
    state: dict[str, int] = {"failed": 0}
    task: list[TaskID] = []

    def start(n: int) -> None:
        task.append(progress.add_task("samples", total=n))

    def done(o: SampleOutcome) -> None:
        if not o.ok:
            state["failed"] += 1
            progress.console.print(f"FAILED {o.row.label}: {o.error}", style="red",
                                   markup=False, highlight=False, soft_wrap=True)
        progress.update(task[0], advance=1,
                        description=f"samples ({state['failed']} failed)")

    try:
        with progress:
            report = run_batch(manifest, out_dir, jobs=jobs, force=force, panel=panel,
                               on_start=start, on_done=done)
    except (CytometryError, FileExistsError, OSError) as exc:
        _err(con, "batch", str(exc))
        return 2
    style = "green" if report.exit_code == 0 else "bold red"
    con.print(report.summary(), style=style, markup=False, highlight=False, soft_wrap=True)
    return report.exit_code


def run_import_command(
    results: str, study_dir: str, *, replace: bool = False, dry_run: bool = False,
    console: Console | None = None,
) -> int:
    """``saatrial flow import``: print the rows added/replaced. Exit 0, or 1 when refused."""
    from saatrial.cytometry.importer import import_results
    from saatrial.study import StudyDataError

    con = console or Console()
    try:
        report = import_results(results, study_dir, replace=replace, dry_run=dry_run)
    except (CytometryError, StudyDataError, OSError) as exc:
        _err(con, "import", "refused, nothing written:")
        con.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
        return 1
    t = Table(title=f"{Path(results).name} -> {report.target}")
    for col in ("line", "subject", "sample date", "change", "fields"):
        t.add_column(col)
    for c in report.changes:
        if c.kind == "added":
            what = ", ".join(f"{k}={v}" for k, v in c.new.items()
                             if v and k not in ("subject_id", "sample_date"))
        elif c.kind == "replaced":
            what = ", ".join(f"{k}: {c.old.get(k) or '(empty)'} -> {c.new[k] or '(empty)'}"
                             for k in c.changed_fields)
        else:
            what = "identical row already present"
        t.add_row(str(c.line), c.subject_id, c.sample_date, c.kind, what)
    con.print(t)
    for w in report.warnings:
        con.print(f"warning: {w}", style="yellow", markup=False, highlight=False, soft_wrap=True)
    tail = " (dry run)" if dry_run else ""
    con.print(report.summary() + tail, style="green", markup=False, highlight=False,
              soft_wrap=True)
    return 0


def run_synth_command(
    out_dir: str, *, n_samples: int = 20, n_broken: int = 2, events: int = 20_000,
    study: str = "bundled", seed: int = 2024, force: bool = False,
    console: Console | None = None,
) -> int:
    """``saatrial flow synth``: write a demo batch (FCS pairs, manifest, truth). Exit 0 or 2."""
    from saatrial.cytometry.demo import write_demo_batch
    from saatrial.study import StudyData, StudyDataError, load_bundled_study

    con = console or Console()
    try:
        data = load_bundled_study() if study == "bundled" else StudyData.read(study)
        demo = write_demo_batch(out_dir, n_samples=n_samples, n_broken=n_broken, events=events,
                                study=data, seed=seed, force=force)
    except (CytometryError, StudyDataError, FileExistsError, OSError) as exc:
        _err(con, "synth", str(exc))
        return 2
    con.print(f"wrote {len(demo.samples)} synthetic samples to {demo.folder}", markup=False,
              highlight=False, soft_wrap=True)
    for s in demo.broken:
        con.print(f"  deliberately broken: {s.subject_id} {s.sample_date} ({s.broken})",
                  markup=False, highlight=False)
    con.print(f"manifest: {demo.manifest_path}\ntruth:    {demo.truth_path}", markup=False,
              highlight=False, soft_wrap=True)
    return 0
