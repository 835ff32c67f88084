"""Write a built report to a folder, all or nothing.

:func:`write_report` writes::

    <out>/index.html          self-contained page (saatrial.report.html)
    <out>/report.pdf          the same sections as PDF (saatrial.report.pdf)
    <out>/results.json        Report.results: every computed number, keys as in
                              published_results.yaml (NaN -> null)
    <out>/reproduction.csv    published vs reproduced, one row per published leaf
                              (only when there is a published reference)
    <out>/figures/<key>.png   each figure as PNG and SVG
    <out>/figures/<key>.svg
    <out>/adam/*.csv          the analysis datasets (AnalysisDatasets.write_csv)

Everything is rendered in memory first (an error there writes nothing), then
written into a temporary folder beside ``out`` and moved in: a new ``out``
appears with one rename; into an existing ``out`` the ``figures`` and ``adam``
folders are swapped whole, the files replaced one by one with ``index.html``
last, and report files of an earlier run that this run does not write are
removed (so a stale ``reproduction.csv`` never survives). Other files in
``out`` are left alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from saatrial.atomic import current_umask
from saatrial.derive import AnalysisDatasets
from saatrial.report.html import render_html
from saatrial.report.model import Report, ReproductionRow
from saatrial.report.pdf import render_pdf

__all__ = [
    "MANAGED",
    "ReportFiles",
    "json_safe",
    "reproduction_csv_bytes",
    "results_json_bytes",
    "write_report",
]

#: Names in the output folder that belong to the report (replaced or removed on rewrite).
MANAGED = ("figures", "adam", "results.json", "reproduction.csv", "report.pdf", "index.html")


@dataclass(frozen=True)
class ReportFiles:
    """Where :func:`write_report` put each output.

    Attributes
    ----------
    out_dir : Path
    index_html, report_pdf, results_json : Path
    reproduction_csv : Path or None
        None when the report has no reproduction rows.
    figures : tuple of Path
        ``figures/<key>.png`` and ``.svg`` for every figure, in report order.
    adam : tuple of Path
        The analysis dataset CSVs (and ``derive_notes.csv``).
    """

    out_dir: Path
    index_html: Path
    report_pdf: Path
    results_json: Path
    reproduction_csv: Path | None
    figures: tuple[Path, ...]
    adam: tuple[Path, ...]


def json_safe(value: Any, where: str = "results") -> Any:
    """A JSON-ready copy of ``value``: NaN/inf -> None, numpy/pandas scalars -> Python.

    Dict keys become strings; tuples, sets (sorted) and arrays become lists;
    dates become ISO text.

    Parameters
    ----------
    value : Any
    where : str
        Dotted path of ``value``, used in the error message.

    Raises
    ------
    TypeError
        A value that has no JSON form, named by its dotted path.

    Examples
    --------
    >>> import numpy as np
    >>> json_safe({"p": float("nan"), "n": np.int64(9), "r": (5, 54.0), 1: None})
    {'p': None, 'n': 9, 'r': [5, 54.0], '1': None}
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat()[:10] if _is_midnight(value) else value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (set, frozenset)):
        value = sorted(value, key=str)
    if isinstance(value, (list, tuple)):
        return [json_safe(v, f"{where}.{i}") for i, v in enumerate(value)]
    raise TypeError(f"{where}: no JSON form for a {type(value).__name__}: {value!r:.80}")


def _is_midnight(value: Any) -> bool:
    if isinstance(value, dt.datetime):
        return value.time() == dt.time(0, 0)
    return True


def results_json_bytes(results: Mapping[str, Any]) -> bytes:
    """``results`` as UTF-8 JSON (indented, key order kept, no NaN), newline-terminated."""
    text = json.dumps(json_safe(results), indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _format_value(value: Any) -> str:
    safe = json_safe(value, "reproduction")
    if safe is None:
        return ""
    if isinstance(safe, str):
        return safe
    return json.dumps(safe, ensure_ascii=False)


def reproduction_csv_bytes(rows: list[ReproductionRow]) -> bytes:
    """The reproduction rows as CSV (key, published, reproduced, difference, tolerance,
    passed Y/N, note), values as JSON text for lists."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["key", "published", "reproduced", "difference", "tolerance", "passed", "note"]
    )
    for r in rows:
        diff = "" if r.difference is None else format(r.difference, ".10g")
        writer.writerow(
            [
                r.key,
                _format_value(r.published),
                _format_value(r.reproduced),
                diff,
                r.tolerance,
                "Y" if r.passed else "N",
                r.note,
            ]
        )
    return buffer.getvalue().encode("utf-8")


def _tmp_dir(out: Path) -> Path:
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    try:
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.report-", suffix=".tmp", dir=parent))
    except PermissionError:  # parent not writable: build inside the (writable) target
        out.mkdir(exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".report-", suffix=".tmp", dir=out))


def _move_in(tmp: Path, out: Path, written: list[str]) -> None:
    """Move the finished files from ``tmp`` into an existing ``out`` (index.html last)."""
    trash = tmp / ".replaced"
    trash.mkdir()
    for name in MANAGED:
        if name in written:
            continue
        old = out / name
        if old.is_dir() and not old.is_symlink():
            os.rename(old, trash / name)
        elif old.exists() or old.is_symlink():
            old.unlink()
    for name in written:  # MANAGED order: folders first, index.html last
        src, dst = tmp / name, out / name
        if src.is_dir():
            if dst.is_dir() and not dst.is_symlink():
                os.rename(dst, trash / name)
            elif dst.exists() or dst.is_symlink():
                dst.unlink()
            os.rename(src, dst)
        else:
            if dst.is_dir() and not dst.is_symlink():
                os.rename(dst, trash / name)
            os.replace(src, dst)


def write_report(report: Report, ads: AnalysisDatasets, out_dir: str | Path) -> ReportFiles:
    """Write the report's HTML, PDF, results, figures and ADaM CSVs into ``out_dir``.

    Parameters
    ----------
    report : Report
        From :func:`saatrial.report.build.build_report`.
    ads : AnalysisDatasets
        The datasets the report was built from (written to ``adam/``).
    out_dir : str or Path
        Output folder; created if needed. Existing report files in it are
        replaced, other files kept.

    Returns
    -------
    ReportFiles

    Raises
    ------
    NotADirectoryError
        ``out_dir`` exists and is not a folder (nothing is written).
    ValueError, TypeError
        A figure is not a PNG, or a result has no JSON form (nothing is written).

    Examples
    --------
    >>> import tempfile
    >>> from saatrial.derive import derive_all
    >>> from saatrial.report.model import Report, Section
    >>> from saatrial.study import load_bundled_study
    >>> ads = derive_all(load_bundled_study())
    >>> r = Report("Demo", "bundled", [Section("summary", "Summary", ["text"])],
    ...            {"p": float("nan")}, [], [], "saatrial")
    >>> files = write_report(r, ads, tempfile.mkdtemp() + "/out")
    >>> files.results_json.read_text()
    '{\\n  "p": null\\n}\\n'
    >>> sorted(p.name for p in files.out_dir.iterdir())
    ['adam', 'figures', 'index.html', 'report.pdf', 'results.json']
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out}: exists and is not a folder")
    # render everything first: a failure here leaves the disk untouched
    page = render_html(report).encode("utf-8")
    pdf = render_pdf(report)
    results = results_json_bytes(report.results)
    reproduction = reproduction_csv_bytes(report.reproduction) if report.reproduction else None
    figure_files: dict[str, bytes] = {}
    for section in report.sections:
        for figure in section.figures:
            figure_files[f"{figure.key}.png"] = figure.png
            figure_files[f"{figure.key}.svg"] = figure.svg.encode("utf-8")

    tmp = _tmp_dir(out)
    try:
        os.chmod(tmp, 0o777 & ~current_umask())
        (tmp / "figures").mkdir()
        for name, content in figure_files.items():
            (tmp / "figures" / name).write_bytes(content)
        ads.write_csv(tmp / "adam")
        (tmp / "results.json").write_bytes(results)
        if reproduction is not None:
            (tmp / "reproduction.csv").write_bytes(reproduction)
        (tmp / "report.pdf").write_bytes(pdf)
        (tmp / "index.html").write_bytes(page)
        written = [n for n in MANAGED if (tmp / n).exists()]
        if not out.exists():
            os.rename(tmp, out)
        else:
            _move_in(tmp, out, written)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    adam = tuple(sorted((out / "adam").glob("*.csv")))
    return ReportFiles(
        out_dir=out,
        index_html=out / "index.html",
        report_pdf=out / "report.pdf",
        results_json=out / "results.json",
        reproduction_csv=out / "reproduction.csv" if reproduction is not None else None,
        figures=tuple(out / "figures" / n for n in figure_files),
        adam=adam,
    )
