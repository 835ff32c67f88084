"""The batch manifest: which files make which sample (``saatrial flow batch``).

A manifest is a CSV file with one row per sample (both tubes)::

    subject_id,sample_date,visit,stained_file,isotype_file,beads_per_tube,blood_volume_ul
    MSC01,2014-04-06,D180,fcs/MSC01_stained.fcs,fcs/MSC01_isotype.fcs,50123,50

``visit`` is optional (kept in ``qc.csv``); ``sample_date`` is required, as
the T-cell subsets table is keyed by subject and draw date. Relative file
paths are relative to the manifest's folder. Problems in the manifest itself
(missing column, bad date, duplicate subject + date ...) are all reported at
once as a :class:`ManifestError` (``manifest.csv:3: beads_per_tube:
positive_integer: abc``) before any sample is analysed; whether the files
exist and read is each sample's own business (:mod:`saatrial.cytometry.batch`).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from saatrial.cytometry.errors import ProblemsError

#: Manifest columns, required first.
REQUIRED_COLUMNS = (
    "subject_id", "sample_date", "stained_file", "isotype_file", "beads_per_tube",
    "blood_volume_ul",
)
OPTIONAL_COLUMNS = ("visit",)
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ManifestError(ProblemsError):
    """The manifest cannot be used; one ``file:row: field: rule: value`` line per problem."""


@dataclass(frozen=True)
class ManifestRow:
    """One sample of the manifest.

    Parameters
    ----------
    line : int
        CSV line of the row (header = 1).
    subject_id : str
    sample_date : datetime.date
        Date the blood was drawn.
    visit : str
        Visit label ('' when not given).
    stained_file, isotype_file : str
        Paths as written in the manifest.
    stained_path, isotype_path : pathlib.Path
        Resolved paths (relative ones against the manifest's folder).
    beads_per_tube : int
        TruCount beads per tube (lot number on the pouch).
    blood_volume_ul : float
        Blood volume in the stained tube, uL.
    key : str
        Folder name of the sample's outputs: ``<subject>_<date>`` with characters
        other than letters, digits, ``. _ -`` replaced by ``_`` (plus ``_line<N>``
        if two rows would share a folder).
    """

    line: int
    subject_id: str
    sample_date: dt.date
    visit: str
    stained_file: str
    isotype_file: str
    stained_path: Path
    isotype_path: Path
    beads_per_tube: int
    blood_volume_ul: float
    key: str = ""

    @property
    def label(self) -> str:
        """``"<subject> <date>"`` (plus the visit) for titles and logs."""
        v = f" ({self.visit})" if self.visit else ""
        return f"{self.subject_id} {self.sample_date.isoformat()}{v}"


def _open_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ManifestError([f"{path}:0: *: not_found: {path}"]) from None
    except UnicodeDecodeError as err:
        raise ManifestError([f"{path.name}:0: *: encoding (UTF-8 required): byte {err.start}"]
                            ) from None


def read_manifest(path: str | os.PathLike[str]) -> tuple[ManifestRow, ...]:
    """Read and check a batch manifest.

    Parameters
    ----------
    path : str or path-like
        The manifest CSV (UTF-8, with or without BOM; comma, semicolon or tab).

    Returns
    -------
    tuple of ManifestRow
        In file order.

    Raises
    ------
    ManifestError
        With every problem: missing file, unknown or missing column, empty
        required cell, bad date, beads per tube not a positive integer, blood
        volume not a positive number, the same subject and date twice, no rows.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "m.csv").write_text(
    ...     "subject_id,sample_date,stained_file,isotype_file,beads_per_tube,blood_volume_ul\\n"
    ...     "S1,2014-03-02,a.fcs,b.fcs,50123,50\\n"
    ...     "S2,2014-02-30,c.fcs,d.fcs,5e4,-1\\n")
    >>> try:
    ...     read_manifest(d / "m.csv")
    ... except ManifestError as err:
    ...     print(err)
    m.csv:3: sample_date: date (YYYY-MM-DD): 2014-02-30
    m.csv:3: beads_per_tube: positive_integer: 5e4
    m.csv:3: blood_volume_ul: positive_number: -1
    """
    from saatrial.study.csvio import numbered_records, sniff_delimiter

    p = Path(path)
    text = _open_text(p)
    name = p.name
    reader = csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text.split("\n", 1)[0]))
    problems: list[str] = []
    try:
        numbered = list(numbered_records(reader))
    except csv.Error as err:
        raise ManifestError([f"{name}:{reader.line_num}: *: csv_syntax: {err}"]) from None
    if not numbered:
        raise ManifestError([f"{name}:1: *: empty: (no header; columns "
                             f"{', '.join(REQUIRED_COLUMNS)})"])
    header = [c.strip().lower() for c in numbered[0][1]]
    records = numbered[1:]
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    for col in header:
        if col not in known:
            allowed = ", ".join((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
            problems.append(
                f"{name}:1: {col or '(blank)'}: unknown_column (allowed: {allowed}): {col}"
            )
    for col in REQUIRED_COLUMNS:
        if col not in header:
            extra = (" (the T-cell subsets table is keyed by subject_id and sample_date; a visit "
                     "alone cannot be imported)") if col == "sample_date" else ""
            problems.append(f"{name}:1: {col}: required_column{extra}: missing")
    dup = {c for c in header if header.count(c) > 1}
    for col in sorted(dup):
        problems.append(f"{name}:1: {col}: duplicate_column: {col}")
    if problems:
        raise ManifestError(problems)
    if not records:
        raise ManifestError([f"{name}:1: *: no_rows: (the manifest lists no sample)"])
    rows: list[ManifestRow] = []
    seen: dict[tuple[str, dt.date], int] = {}
    for line, rec in records:
        if len(rec) != len(header):
            problems.append(f"{name}:{line}: *: cells ({len(header)} expected): {len(rec)}")
            continue
        cell = {h: c.strip() for h, c in zip(header, rec, strict=True)}
        row, row_problems = _parse_row(name, line, cell, p.parent)
        if row is not None:
            k = (row.subject_id, row.sample_date)
            if k in seen:
                row_problems.append(
                    f"{name}:{line}: subject_id+sample_date: unique (same subject and date as "
                    f"line {seen[k]}): {k[0]}|{k[1].isoformat()}"
                )
            else:
                seen[k] = line
        problems.extend(row_problems)
        if row is not None and not row_problems:
            rows.append(row)
    if problems:
        raise ManifestError(problems)
    keys = [_SAFE.sub("_", f"{r.subject_id}_{r.sample_date.isoformat()}") for r in rows]
    # ids that differ only in unsafe characters would share a folder: add the line
    return tuple(
        dataclasses.replace(r, key=k if keys.count(k) == 1 else f"{k}_line{r.line}")
        for r, k in zip(rows, keys, strict=True)
    )


def _parse_row(
    name: str, line: int, cell: dict[str, str], base: Path,
) -> tuple[ManifestRow | None, list[str]]:
    """One manifest row, or None, and its problems."""
    problems: list[str] = []
    for col in REQUIRED_COLUMNS:
        if not cell[col]:
            problems.append(f"{name}:{line}: {col}: required: ")
    date: dt.date | None = None
    raw = cell["sample_date"]
    if raw:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
                raise ValueError(raw)
            date = dt.date.fromisoformat(raw)
        except ValueError:
            problems.append(f"{name}:{line}: sample_date: date (YYYY-MM-DD): {raw}")
    beads: int | None = None
    raw = cell["beads_per_tube"]
    if raw:
        if re.fullmatch(r"\d+", raw) and int(raw) > 0:
            beads = int(raw)
        else:
            problems.append(f"{name}:{line}: beads_per_tube: positive_integer: {raw}")
    volume: float | None = None
    raw = cell["blood_volume_ul"]
    if raw:
        try:
            volume = float(raw)
        except ValueError:
            volume = None
        if volume is None or not math.isfinite(volume) or volume <= 0:
            problems.append(f"{name}:{line}: blood_volume_ul: positive_number: {raw}")
            volume = None
    if problems or date is None or beads is None or volume is None:
        return None, problems
    row = ManifestRow(
        line=line,
        subject_id=cell["subject_id"],
        sample_date=date,
        visit=cell.get("visit", ""),
        stained_file=cell["stained_file"],
        isotype_file=cell["isotype_file"],
        stained_path=_resolve(base, cell["stained_file"]),
        isotype_path=_resolve(base, cell["isotype_file"]),
        beads_per_tube=beads,
        blood_volume_ul=volume,
    )
    return row, problems


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p
