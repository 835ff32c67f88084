"""Batch analysis of Treg samples listed in a manifest (issue 6, item 4).

The manifest (one row per sample: subject, draw date, optional visit, both
FCS files, beads per tube, blood volume) is read and checked by
:func:`saatrial.cytometry.manifest.read_manifest`; a bad manifest is refused
as a whole before any sample is analysed.

:func:`run_batch` analyses every sample (:func:`analyze_sample`) and writes
the output folder **atomically** (a temporary sibling folder renamed into
place when everything is written; an existing folder is replaced only with
``force``)::

    OUT/
      results.csv     one row per analysed sample, the dictionary's tcell_subsets
                      fields in canonical CSV (method FLOW; cd3cd4_pct, cd3cd8_pct empty:
                      the Treg panel has no CD3/CD8) -> ``saatrial flow import``
      qc.csv          every sample: status, event counts per gate (both tubes),
                      thresholds, channels, compensation, warnings, error
      failures.csv    the samples that failed and why (header only if none)
      batch.log       what was done, with parameters, per-sample counts and warnings
      manifest.csv    a copy of the manifest analysed
      samples/<subject>_<date>/
          gates.png   the gates on density plots (:mod:`saatrial.cytometry.plots`)
          gates.xml   the gates as Gating-ML 2.0 (:mod:`saatrial.cytometry.gatingml`)
          result.json every gate, threshold, count and parameter of the analysis

A bad file fails **that** sample (its reason in ``failures.csv`` and the log);
the batch goes on. :attr:`BatchReport.exit_code` is 0 when every sample was
analysed and 1 when any failed (so that scripts and schedulers notice a
partial batch, while the good samples are still written and importable);
a bad manifest or an existing output folder raises before anything is written
(the CLI exits 2).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from saatrial.atomic import building_folder
from saatrial.cytometry.compensation import Spillover
from saatrial.cytometry.errors import CytometryError, FcsError, GatingError
from saatrial.cytometry.fcs import FcsSample, read_fcs
from saatrial.cytometry.manifest import ManifestRow, read_manifest
from saatrial.cytometry.panel import Panel, load_panel
from saatrial.cytometry.treg import TregParameters, TregResult, analyze_treg

#: Columns of ``qc.csv``.
QC_COLUMNS = (
    "sample", "manifest_line", "subject_id", "sample_date", "visit", "status", "stained_file",
    "isotype_file", "beads_per_tube", "blood_volume_ul", "treg_pct_of_cd4", "cd4_per_ul",
    "treg_per_ul", "events", "bead_events", "cells", "lymphocytes", "cd4_events",
    "cd25_events", "treg_events", "isotype_events", "isotype_bead_events",
    "isotype_lymphocytes", "isotype_cd4_events", "threshold_cd4", "threshold_cd4_isotype",
    "threshold_cd25", "threshold_cd127", "isotype_percentile", "channel_cd4", "channel_cd25",
    "channel_cd127", "channel_beads", "compensation", "n_warnings", "warnings", "error",
    "plot", "gatingml",
)
FAILURE_COLUMNS = (
    "sample", "manifest_line", "subject_id", "sample_date", "visit", "stained_file",
    "isotype_file", "stage", "error",
)
# --- one sample ---------------------------------------------------------------------------


def load_pair(
    stained: str | os.PathLike[str], isotype: str | os.PathLike[str],
    parameters: TregParameters | None = None, spillover: Spillover | None = None,
) -> tuple[FcsSample, FcsSample]:
    """Read both tubes and compensate them as :func:`analyze_treg` would.

    Each tube is compensated with ``spillover`` if given, else with its own
    matrix; a tube without a matrix (or ``compensate=False``) is returned raw,
    and :func:`analyze_treg` then records the warning. Passing the returned
    samples to :func:`analyze_treg` and to the plots and the Gating-ML export
    makes all three use exactly the same events.
    """
    params = parameters if parameters is not None else TregParameters()
    out = []
    for path in (stained, isotype):
        s = read_fcs(path)
        matrix = spillover if spillover is not None else s.spillover
        if params.compensate and matrix is not None:
            s = s.compensate(matrix)
        out.append(s)
    return out[0], out[1]


@dataclass(frozen=True, eq=False)
class SampleAnalysis:
    """A Treg analysis with the samples it was done on (for plots and Gating-ML)."""

    result: TregResult
    stained: FcsSample
    isotype: FcsSample


def analyze_sample(
    stained: str | os.PathLike[str], isotype: str | os.PathLike[str], *, beads_per_tube: int,
    blood_volume_ul: float, panel: Panel | None = None,
    parameters: TregParameters | None = None, spillover: Spillover | None = None,
) -> SampleAnalysis:
    """Read, compensate and analyse one sample (both tubes); see :func:`analyze_treg`."""
    s, i = load_pair(stained, isotype, parameters, spillover)
    result = analyze_treg(
        s, i, beads_per_tube=beads_per_tube, blood_volume_ul=blood_volume_ul, panel=panel,
        parameters=parameters, spillover=spillover,
    )
    return SampleAnalysis(result, s, i)


@dataclass(frozen=True)
class SampleOutcome:
    """What happened to one manifest row (plain data: it crosses process boundaries).

    Parameters
    ----------
    row : ManifestRow
    status : {"ok", "failed"}
    stage : str
        Where it failed: ``read`` (FCS file), ``analysis`` (gating, channels),
        ``output`` (plot/Gating-ML) or ``internal`` (a bug); '' when ok.
    error : str
        The reason ('' when ok).
    summary : dict
        Results, counts, thresholds and warnings (empty when failed).
    seconds : float
        Wall time of the sample.
    """

    row: ManifestRow
    status: Literal["ok", "failed"]
    stage: str = ""
    error: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the sample was analysed and its outputs written."""
        return self.status == "ok"


def _summary(a: SampleAnalysis) -> dict[str, Any]:
    r = a.result
    g = {x.name: x.n_in for x in r.gates}
    gi = {x.name: x.n_in for x in r.isotype_gates}
    comp = []
    for tube, s in (("stained", a.stained), ("isotype", a.isotype)):
        sp = s.compensated_with
        comp.append(f"{tube}: {'none' if sp is None else sp.source}")
    return {
        "treg_pct_of_cd4": r.treg_pct_of_cd4,
        "cd4_per_ul": r.cd4_per_ul,
        "treg_per_ul": r.treg_per_ul,
        "events": a.stained.n_events,
        "bead_events": r.bead_events,
        "cells": g.get("cells"),
        "lymphocytes": g.get("lymphocytes"),
        "cd4_events": r.cd4_events,
        "cd25_events": g.get("CD25+"),
        "treg_events": r.treg_events,
        "isotype_events": a.isotype.n_events,
        "isotype_bead_events": gi.get("beads"),
        "isotype_lymphocytes": gi.get("lymphocytes"),
        "isotype_cd4_events": gi.get("CD4+"),
        "threshold_cd4": r.thresholds.cd4,
        "threshold_cd4_isotype": r.thresholds.cd4_isotype,
        "threshold_cd25": r.thresholds.cd25,
        "threshold_cd127": r.thresholds.cd127,
        "isotype_percentile": r.parameters.isotype_percentile,
        "channel_cd4": r.channels.markers["CD4"],
        "channel_cd25": r.channels.markers["CD25"],
        "channel_cd127": r.channels.markers["CD127"],
        "channel_beads": r.channels.bead,
        "compensation": "; ".join(comp),
        "warnings": list(r.warnings),
    }


def _range_warnings(summary: dict[str, Any]) -> list[str]:
    """Values outside the data dictionary's ranges for tcell_subsets (import would refuse hard)."""
    from saatrial.study.dictionary import load_dictionary

    spec = load_dictionary().tables["tcell_subsets"]
    out = []
    for name in ("treg_pct_of_cd4", "cd4_per_ul", "treg_per_ul"):
        f = spec.fields[name]
        v = float(summary[name])
        if f.hard_range is not None and not f.hard_range[0] <= v <= f.hard_range[1]:
            out.append(f"{name} {v:.4g} outside the dictionary's hard range "
                       f"{list(f.hard_range)}; the study import will refuse it")
        elif f.soft_range is not None and not f.soft_range[0] <= v <= f.soft_range[1]:
            out.append(f"{name} {v:.4g} outside the plausible range {list(f.soft_range)} "
                       "(dictionary soft_range)")
    return out


def _stage(exc: BaseException) -> str:
    if isinstance(exc, FcsError | OSError):
        return "read"
    if isinstance(exc, GatingError | CytometryError):
        return "analysis"
    return "internal"


def process_sample(
    row: ManifestRow, sample_dir: str | os.PathLike[str], panel_source: str | None = None,
    parameters: TregParameters | None = None,
) -> SampleOutcome:
    """Analyse one manifest row and write its ``gates.png``, ``gates.xml``, ``result.json``.

    Never raises for a bad sample: the failure (stage and reason) is in the
    returned :class:`SampleOutcome`. Runs in worker processes, so it takes the
    panel as a file name or bundled panel name (panels hold mapping proxies,
    which do not pickle).
    """
    from saatrial.cytometry.gatingml import treg_gatingml, write_gatingml
    from saatrial.cytometry.plots import plot_treg

    start = time.perf_counter()
    stage = "analysis"
    try:
        panel = load_panel(panel_source) if panel_source else None
        a = analyze_sample(
            row.stained_path, row.isotype_path, beads_per_tube=row.beads_per_tube,
            blood_volume_ul=row.blood_volume_ul, panel=panel, parameters=parameters,
        )
        summary = _summary(a)
        summary["warnings"] = summary["warnings"] + _range_warnings(summary)
        stage = "output"
        out = Path(sample_dir)
        out.mkdir(parents=True, exist_ok=True)
        plot_treg(a.result, a.stained, a.isotype, out / "gates.png", label=row.label)
        write_gatingml(out / "gates.xml", treg_gatingml(a.result, a.stained, a.isotype))
        doc = {
            "subject_id": row.subject_id,
            "sample_date": row.sample_date.isoformat(),
            "visit": row.visit,
            "manifest_line": row.line,
            **a.result.to_dict(),
        }
        (out / "result.json").write_text(
            json.dumps(doc, indent=1, allow_nan=False) + "\n", encoding="utf-8", newline="\n"
        )
    except Exception as exc:  # a bad sample must not stop the batch
        known = isinstance(exc, CytometryError | OSError)
        kind = ("output" if stage == "output" else _stage(exc)) if known else "internal"
        msg = str(exc) if known else f"{type(exc).__name__}: {exc}"
        return SampleOutcome(row, "failed", kind, msg, {}, time.perf_counter() - start)
    return SampleOutcome(row, "ok", "", "", summary, time.perf_counter() - start)


# --- the batch ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchReport:
    """The outcome of :func:`run_batch`.

    Parameters
    ----------
    out_dir : pathlib.Path
        The output folder (complete).
    outcomes : tuple of SampleOutcome
        One per manifest row, in manifest order.
    seconds : float
        Wall time of the batch.
    """

    out_dir: Path
    outcomes: tuple[SampleOutcome, ...]
    seconds: float

    @property
    def n_ok(self) -> int:
        """Samples analysed."""
        return sum(o.ok for o in self.outcomes)

    @property
    def failed(self) -> tuple[SampleOutcome, ...]:
        """Samples that failed."""
        return tuple(o for o in self.outcomes if not o.ok)

    @property
    def exit_code(self) -> int:
        """0 if every sample was analysed, 1 if any failed."""
        return 0 if not self.failed else 1

    def summary(self) -> str:
        """One line: how many were analysed and failed, and the exit code."""
        n = len(self.outcomes)
        nf = len(self.failed)
        tail = "all analysed" if not nf else f"{nf} failed (see failures.csv)"
        return (f"{self.n_ok} of {n} samples analysed, {tail}; exit code {self.exit_code}; "
                f"{self.seconds:.1f} s; output in {self.out_dir}")


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".10g")
    if isinstance(value, list):
        return " | ".join(str(v) for v in value)
    return str(value)


def _csv_text(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(columns)
    for r in rows:
        w.writerow([_fmt(r.get(c)) for c in columns])
    return buf.getvalue()


def results_csv(outcomes: Sequence[SampleOutcome]) -> str:
    """The analysed samples as the dictionary's ``tcell_subsets`` table (canonical CSV).

    Columns are all ``tcell_subsets`` fields in dictionary order; rows sorted
    by subject and date; numbers ``format(x, ".10g")``; ``method`` FLOW;
    ``cd3cd4_pct``/``cd3cd8_pct`` empty (the Treg panel has no CD3 or CD8).

    Examples
    --------
    >>> results_csv([])  # no sample analysed: the header alone
    'subject_id,sample_date,cd3cd4_pct,cd3cd8_pct,treg_pct_of_cd4,cd4_per_ul,treg_per_ul,method\\n'
    """
    from saatrial.study.dictionary import load_dictionary

    spec = load_dictionary().tables["tcell_subsets"]
    names = list(spec.field_names)
    rows = []
    for o in outcomes:
        if not o.ok:
            continue
        s = o.summary
        values = {
            "subject_id": o.row.subject_id,
            "sample_date": o.row.sample_date.isoformat(),
            "treg_pct_of_cd4": s["treg_pct_of_cd4"],
            "cd4_per_ul": s["cd4_per_ul"],
            "treg_per_ul": s["treg_per_ul"],
            "method": "FLOW",
        }
        rows.append({n: values.get(n) for n in names})
    rows.sort(key=lambda r: (r["subject_id"], r["sample_date"]))  # the table key
    return _csv_text(names, rows)


def _qc_rows(outcomes: Sequence[SampleOutcome]) -> list[dict[str, Any]]:
    out = []
    for o in outcomes:
        r = o.row
        d: dict[str, Any] = {
            "sample": r.key, "manifest_line": r.line, "subject_id": r.subject_id,
            "sample_date": r.sample_date.isoformat(), "visit": r.visit, "status": o.status,
            "stained_file": r.stained_file, "isotype_file": r.isotype_file,
            "beads_per_tube": r.beads_per_tube, "blood_volume_ul": r.blood_volume_ul,
            "error": o.error,
        }
        if o.ok:
            d.update({k: v for k, v in o.summary.items() if k != "warnings"})
            d["n_warnings"] = len(o.summary["warnings"])
            d["warnings"] = o.summary["warnings"]
            d["plot"] = f"samples/{r.key}/gates.png"
            d["gatingml"] = f"samples/{r.key}/gates.xml"
        out.append(d)
    return out


def _failure_rows(outcomes: Sequence[SampleOutcome]) -> list[dict[str, Any]]:
    return [
        {
            "sample": o.row.key, "manifest_line": o.row.line, "subject_id": o.row.subject_id,
            "sample_date": o.row.sample_date.isoformat(), "visit": o.row.visit,
            "stained_file": o.row.stained_file, "isotype_file": o.row.isotype_file,
            "stage": o.stage, "error": o.error,
        }
        for o in outcomes if not o.ok
    ]


def _log_text(
    manifest: Path, outcomes: Sequence[SampleOutcome], params: TregParameters,
    panel_source: str | None, jobs: int, started: dt.datetime, seconds: float,
) -> str:
    from saatrial import __version__

    lines = [
        f"saatrial {__version__} flow batch",
        f"started    {started.isoformat(timespec='seconds')}",
        f"manifest   {manifest.resolve()}",
        f"samples    {len(outcomes)}; jobs {jobs}",
        f"panel      {panel_source or 'markers found by $PnS (CD4, CD25, CD127)'}",
        "parameters " + json.dumps(
            {**asdict(params), "valley_transform": asdict(params.valley_transform)}
        ),
        "",
    ]
    for o in outcomes:
        r = o.row
        head = f"line {r.line}: {r.label}"
        if o.ok:
            s = o.summary
            lines.append(
                f"[ok]     {head}: Treg {s['treg_pct_of_cd4']:.3f} % of CD4+, CD4+ "
                f"{s['cd4_per_ul']:.1f}/uL, Treg {s['treg_per_ul']:.2f}/uL ({o.seconds:.2f} s)"
            )
            lines.append(
                f"         stained {r.stained_path}: {s['events']} events, beads "
                f"{s['bead_events']}, cells {s['cells']}, lymphocytes {s['lymphocytes']}, "
                f"CD4+ {s['cd4_events']}, CD25+ {s['cd25_events']}, Treg {s['treg_events']}"
            )
            lines.append(
                f"         isotype {r.isotype_path}: {s['isotype_events']} events, beads "
                f"{s['isotype_bead_events']}, lymphocytes {s['isotype_lymphocytes']}, CD4+ "
                f"{s['isotype_cd4_events']}"
            )
            lines.append(
                f"         thresholds CD4 {s['threshold_cd4']:.6g} (isotype "
                f"{s['threshold_cd4_isotype']:.6g}), CD25 {s['threshold_cd25']:.6g}, CD127 "
                f"{s['threshold_cd127']:.6g}; compensation {s['compensation']}"
            )
            for w in s["warnings"]:
                lines.append(f"         warning: {w}")
        else:
            lines.append(f"[FAILED] {head}: {o.stage}: {o.error}")
    n_failed = sum(not o.ok for o in outcomes)
    lines += [
        "",
        f"{len(outcomes) - n_failed} of {len(outcomes)} samples analysed, {n_failed} failed; "
        f"exit code {0 if not n_failed else 1}; {seconds:.1f} s",
    ]
    return "\n".join(lines) + "\n"


def _prepare_target(out_dir: Path, force: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise FileExistsError(
            f"output folder {out_dir} is not empty; use --force to replace it"
        )


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Processes started inside get one BLAS thread each (``jobs`` processes share the cores)."""
    saved = {k: os.environ.get(k) for k in _THREAD_VARIABLES}
    os.environ.update({k: "1" for k in _THREAD_VARIABLES})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_batch(
    manifest: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    jobs: int = 1,
    force: bool = False,
    panel: str | None = None,
    parameters: TregParameters | None = None,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[SampleOutcome], None] | None = None,
) -> BatchReport:
    """Analyse every sample of a manifest and write the output folder (see module notes).

    Parameters
    ----------
    manifest : path
        The manifest CSV.
    out_dir : path
        Output folder; created atomically (must not exist or be empty, unless ``force``).
    jobs : int, default 1
        Worker processes (samples are independent; 2 suits a 2-core machine).
    force : bool
        Replace an existing non-empty ``out_dir`` (atomically).
    panel : str, optional
        Panel YAML path or bundled panel name; default markers by ``$PnS``.
    parameters : TregParameters, optional
    on_start : callable, optional
        Called once with the number of samples (e.g. to size a progress bar).
    on_done : callable, optional
        Called in this process with each :class:`SampleOutcome` as it completes.

    Returns
    -------
    BatchReport
        ``exit_code`` 0 when all samples were analysed, 1 when any failed.

    Raises
    ------
    ManifestError
        The manifest is unusable (nothing is written).
    FileExistsError
        ``out_dir`` is not empty and ``force`` is false (nothing is written).
    CytometryError
        ``jobs`` < 1 or the panel cannot be loaded.

    Notes
    -----
    With ``jobs > 1`` the samples run in worker processes started with
    ``spawn`` (no ``fork`` of a process that may run threads); a script that
    calls this must guard its top level with ``if __name__ == "__main__":``.
    """
    if jobs < 1:
        raise CytometryError(f"jobs must be >= 1, got {jobs}")
    params = parameters if parameters is not None else TregParameters()
    mpath = Path(manifest)
    rows = read_manifest(mpath)
    if panel:
        load_panel(panel)  # a bad panel is a usage error, not 20 sample failures
    target = Path(out_dir)
    _prepare_target(target, force)
    started = dt.datetime.now().astimezone()
    t0 = time.perf_counter()
    with building_folder(target) as tmp:
        if on_start is not None:
            on_start(len(rows))
        results: dict[int, SampleOutcome] = {}
        dirs = {r.line: tmp / "samples" / r.key for r in rows}
        if jobs == 1 or len(rows) == 1:
            for r in rows:
                o = process_sample(r, dirs[r.line], panel, params)
                results[r.line] = o
                if on_done is not None:
                    on_done(o)
        else:
            import multiprocessing

            ctx = multiprocessing.get_context("spawn")  # no fork of a threaded BLAS/rich state
            with ProcessPoolExecutor(max_workers=min(jobs, len(rows)), mp_context=ctx) as pool:
                with _single_threaded_children():  # the workers start during the submits
                    futures = {
                        pool.submit(process_sample, r, dirs[r.line], panel, params): r
                        for r in rows
                    }
                for fut in as_completed(futures):
                    r = futures[fut]
                    try:
                        o = fut.result()
                    except Exception as exc:  # a worker died (e.g. out of memory)
                        o = SampleOutcome(r, "failed", "internal",
                                          f"worker process failed: {type(exc).__name__}: {exc}")
                    results[r.line] = o
                    if on_done is not None:
                        on_done(o)
        outcomes = tuple(results[r.line] for r in rows)
        seconds = time.perf_counter() - t0
        files = {
            "results.csv": results_csv(outcomes),
            "qc.csv": _csv_text(QC_COLUMNS, _qc_rows(outcomes)),
            "failures.csv": _csv_text(FAILURE_COLUMNS, _failure_rows(outcomes)),
            "batch.log": _log_text(mpath, outcomes, params, panel, jobs, started, seconds),
        }
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="\n")
        shutil.copyfile(mpath, tmp / "manifest.csv")
        (tmp / "samples").mkdir(exist_ok=True)
    return BatchReport(target, outcomes, time.perf_counter() - t0)
