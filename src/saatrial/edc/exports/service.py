"""Export the study from the eCRF (CSV folder as a zip, or XLSX) and run the analysis on it.

Both need ``can_export`` (the statistician) at the scope asked for (one
site, or the whole study = any site) and export only what the user may see
(:func:`saatrial.edc.load.export_study` with the user, which also audits the
export). An analysis run exports the study, builds the report
(:func:`saatrial.report.build.build_report`) and writes it
(:func:`saatrial.report.writers.write_report`) into a new folder
``<SAATRIAL_DATA>/reports/<run id>/``; the run is audited (``report_run``).
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from saatrial.edc.accounts.access import require_permission
from saatrial.edc.audit.models import Action
from saatrial.edc.audit.service import record_event
from saatrial.edc.load import export_study
from saatrial.study import StudyData

__all__ = [
    "EXPORT_FORMATS",
    "AnalysisRun",
    "ExportFile",
    "ReportUnavailableError",
    "export_file",
    "list_runs",
    "report_path",
    "reports_dir",
    "run_analysis",
    "zip_bytes",
]

#: Export formats: code -> label.
EXPORT_FORMATS: dict[str, str] = {
    "csv": "StudyData CSV folder (zip)",
    "xlsx": "XLSX workbook (one sheet per table)",
}

#: Run ids: UTC time of the run, ``YYYYmmddTHHMMSSffffffZ``.
RUN_ID = re.compile(r"^\d{8}T\d{12}Z$")

#: Fixed time stamp of zip members (byte-stable archives).
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class ReportUnavailableError(RuntimeError):
    """The report module cannot be used (not installed in this build, or it failed to import)."""


@dataclass(frozen=True)
class ExportFile:
    """A file to download."""

    filename: str
    content_type: str
    data: bytes
    study: StudyData


def zip_bytes(study: StudyData, folder: str) -> bytes:
    """The canonical CSV files of ``study`` in a zip, under ``folder/``, byte-stable.

    Examples
    --------
    >>> data = zip_bytes(StudyData.empty(), "empty")
    >>> sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())[:2]
    ['empty/adverse_events.csv', 'empty/arms.csv']
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(study.csv_files().items()):
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def _scope_name(study: StudyData, site: str | None) -> str:
    study_id = str(study["study"]["study_id"].iloc[0]) if len(study["study"]) else "study"
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", study_id)
    return f"{safe}_{site}" if site else safe


def export_file(user: Any, site: str | None, fmt: str) -> ExportFile:
    """The study (or one site) as a download, audited as an export.

    Parameters
    ----------
    user : User
        Needs ``can_export`` at ``site`` (None: at any site); gets only the
        subjects it may see.
    site : str or None
    fmt : {"csv", "xlsx"}

    Returns
    -------
    ExportFile

    Raises
    ------
    PermissionDenied
    ValueError
        Unknown format.
    LookupError
        Unknown site.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export format {fmt!r}: one of {', '.join(EXPORT_FORMATS)}")
    require_permission(user, "can_export", site)
    study = export_study(site, user=user)
    name = _scope_name(study, site)
    if fmt == "csv":
        return ExportFile(f"{name}.zip", "application/zip", zip_bytes(study, name), study)
    with tempfile.TemporaryDirectory(prefix="saatrial-export-") as tmp:
        path = study.write_xlsx(Path(tmp) / f"{name}.xlsx")
        data = path.read_bytes()
    return ExportFile(
        f"{name}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        data,
        study,
    )


def reports_dir() -> Path:
    """``<SAATRIAL_DATA>/reports`` (created when needed)."""
    return Path(settings.DATA_DIR) / "reports"


@dataclass(frozen=True)
class AnalysisRun:
    """A finished analysis run.

    Attributes
    ----------
    run_id : str
    folder : Path
    index_html : Path
    """

    run_id: str
    folder: Path
    index_html: Path


def _report_functions() -> tuple[Any, Any]:
    try:
        from saatrial.report.build import build_report
        from saatrial.report.writers import write_report
    except ImportError as err:
        raise ReportUnavailableError(
            f"report module not available in this installation ({err}); export the study "
            "and run `saatrial report` instead"
        ) from err
    return build_report, write_report


def run_analysis(user: Any, base: Path | None = None) -> AnalysisRun:
    """Export what ``user`` may see, build and write the report into a new run folder.

    Parameters
    ----------
    user : User
        Needs ``can_export`` (any site).
    base : Path, optional
        Folder of the runs (default :func:`reports_dir`).

    Returns
    -------
    AnalysisRun

    Raises
    ------
    PermissionDenied
    ReportUnavailableError
        The report module is missing.
    """
    require_permission(user, "can_export", None)
    build_report, write_report = _report_functions()
    study = export_study(None, user=user)
    root = base or reports_dir()
    root.mkdir(parents=True, exist_ok=True)
    run_id = timezone.now().strftime("%Y%m%dT%H%M%S%fZ")
    folder = root / run_id
    report, ads = build_report(study)
    files = write_report(report, ads, folder)  # writes into a temp folder, then renames
    record_event(
        user,
        Action.REPORT_RUN,
        record_key=run_id,
        detail=json.dumps(
            {"run": run_id, "subjects": len(study.subject_ids), "index": "index.html"},
            sort_keys=True,
        ),
    )
    return AnalysisRun(run_id, folder, Path(files.index_html))


def list_runs(base: Path | None = None) -> list[str]:
    """Run ids with an ``index.html``, newest first."""
    root = base or reports_dir()
    if not root.is_dir():
        return []
    runs = [p.name for p in root.iterdir() if RUN_ID.match(p.name) and (p / "index.html").is_file()]
    return sorted(runs, reverse=True)


def report_path(run_id: str, name: str = "index.html", base: Path | None = None) -> Path:
    """The file ``name`` of run ``run_id``, refusing anything outside the run's folder.

    Raises
    ------
    FileNotFoundError
        Bad run id, a path leaving the folder, or no such file.
    """
    if not RUN_ID.match(run_id):
        raise FileNotFoundError(f"no analysis run {run_id!r}")
    folder = ((base or reports_dir()) / run_id).resolve()
    path = (folder / name).resolve()
    if folder not in path.parents or not path.is_file():
        raise FileNotFoundError(f"run {run_id}: no file {name!r}")
    return path
