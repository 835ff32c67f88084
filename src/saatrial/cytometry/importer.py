"""Merge flow-cytometry results into a study's T-cell subsets table.

:func:`import_results` reads a ``results.csv`` (as written by ``saatrial flow
batch``: the dictionary's ``tcell_subsets`` fields) and merges its rows into
``<study>/tcell_subsets.csv``:

1. The study folder is read with :meth:`StudyData.read` (an unreadable study
   is refused with its problems).
2. The results are parsed cell by cell exactly as the study readers parse
   ``tcell_subsets.csv`` (types, codes, hard ranges, required fields), and
   checked: the subject must exist in ``subjects.csv`` (``references``); a
   subject + date may appear once (``unique_key``); a subject + date already in
   the study is refused (``exists``) unless ``replace`` is set, except when the
   row is identical (re-importing the same results changes nothing).
3. When the rows themselves are clean, the merged study is validated with
   :func:`saatrial.study.validate`; any error that the merge introduces (e.g.
   a sample dated before consent or after death) refuses the import.
   Problems are reported as ``results.csv:<line>: <field>: <rule>: <value>``.
4. Only ``tcell_subsets.csv`` is rewritten (canonical CSV, rows sorted by
   key), through a temporary file renamed into place; every other file of the
   study stays byte-for-byte as it was. Nothing is written when nothing
   changes or when anything is refused.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from saatrial.cytometry.errors import ProblemsError

TABLE = "tcell_subsets"


class ResultsImportError(ProblemsError):
    """The import was refused; one ``file:row: field: rule: value`` line per problem."""


@dataclass(frozen=True)
class RowChange:
    """One results row and what it did to the study.

    Parameters
    ----------
    line : int
        Line of the row in the results file.
    subject_id, sample_date : str
        The key (date as ``YYYY-MM-DD``).
    kind : {"added", "replaced", "unchanged"}
    old, new : dict of str to str
        Canonical text of every field before (empty for added rows) and after.
    """

    line: int
    subject_id: str
    sample_date: str
    kind: Literal["added", "replaced", "unchanged"]
    old: dict[str, str] = field(default_factory=dict)
    new: dict[str, str] = field(default_factory=dict)

    @property
    def changed_fields(self) -> tuple[str, ...]:
        """Fields whose text differs between ``old`` and ``new``."""
        return tuple(k for k in self.new if self.old.get(k, "") != self.new[k])


@dataclass(frozen=True)
class ImportReport:
    """The outcome of :func:`import_results`.

    Parameters
    ----------
    target : pathlib.Path
        The study's ``tcell_subsets.csv``.
    changes : tuple of RowChange
        One per results row, in file order.
    warnings : tuple of str
        Validation warnings on the imported rows (e.g. outside a soft range).
    written : bool
        Whether ``target`` was rewritten.
    """

    target: Path
    changes: tuple[RowChange, ...]
    warnings: tuple[str, ...]
    written: bool

    def count(self, kind: str) -> int:
        """Rows of one kind (``added``, ``replaced``, ``unchanged``)."""
        return sum(c.kind == kind for c in self.changes)

    def summary(self) -> str:
        """``N added, M replaced, K unchanged in <target>``."""
        verb = "written" if self.written else "not changed"
        return (f"{self.count('added')} added, {self.count('replaced')} replaced, "
                f"{self.count('unchanged')} unchanged; {self.target} {verb}")


def _read_results(path: Path, spec) -> tuple[pd.DataFrame, tuple[int, ...], list[str]]:
    from saatrial.study.csvio import numbered_records
    from saatrial.study.frames import RawTable, assemble

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ResultsImportError([f"{path.name}:0: *: not_found: {path}"]) from None
    except UnicodeDecodeError as err:
        raise ResultsImportError(
            [f"{path.name}:0: *: encoding (UTF-8 required): byte {err.start}"]
        ) from None
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        records = list(numbered_records(reader))
    except csv.Error as err:
        raise ResultsImportError([f"{path.name}:{reader.line_num}: *: csv_syntax: {err}"]) from None
    if not records:
        raise ResultsImportError([f"{path.name}:1: *: empty: (no header)"])
    typed = assemble(RawTable(spec, path.name, records[0][1], records[1:]))
    problems = [str(p) for p in typed.problems if p.is_error]
    return typed.frame, typed.lines, problems


def _texts(frame: pd.DataFrame, spec) -> list[dict[str, str]]:
    from saatrial.study.frames import text_columns

    cols = text_columns(frame, spec)
    return [{n: cols[n][i] for n in spec.field_names} for i in range(len(frame))]


def import_results(
    results: str | os.PathLike[str],
    study_dir: str | os.PathLike[str],
    *,
    replace: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Merge a results CSV into ``<study_dir>/tcell_subsets.csv`` (see the module notes).

    Parameters
    ----------
    results : path
        ``results.csv`` with ``tcell_subsets`` columns (others are refused).
    study_dir : path
        A study folder of ``<table>.csv`` files.
    replace : bool
        Replace existing rows with the same subject and date.
    dry_run : bool
        Check and report, but write nothing.

    Returns
    -------
    ImportReport

    Raises
    ------
    ResultsImportError
        Every problem of the results and of the merged study; nothing is written.
    StudyDataError
        The study itself cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> from saatrial.study import load_bundled_study
    >>> d = Path(tempfile.mkdtemp())
    >>> study = load_bundled_study().write_csv(d / "study")
    >>> _ = (d / "results.csv").write_text(
    ...     "subject_id,sample_date,cd3cd4_pct,cd3cd8_pct,treg_pct_of_cd4,cd4_per_ul,"
    ...     "treg_per_ul,method\\nMSC01,2014-04-02,,,6.5,812.5,52.8,FLOW\\n")
    >>> import_results(d / "results.csv", study).summary()  # doctest: +ELLIPSIS
    '1 added, 0 replaced, 0 unchanged; .../tcell_subsets.csv written'
    >>> import_results(d / "results.csv", study).summary()  # doctest: +ELLIPSIS
    '0 added, 0 replaced, 1 unchanged; .../tcell_subsets.csv not changed'
    """
    from saatrial.atomic import write_bytes_atomic
    from saatrial.study import StudyData, validate
    from saatrial.study.csvio import csv_bytes

    folder = Path(study_dir)
    rpath = Path(results)
    if not folder.is_dir():
        raise ResultsImportError([
            f"{folder.name or folder}:0: *: not_a_folder (flow import merges into "
            f"<study folder>/{TABLE}.csv; write an XLSX study as CSV first): {folder}"
        ])
    study = StudyData.read(folder)
    spec = study.dictionary.tables[TABLE]
    new_frame, new_lines, problems = _read_results(rpath, spec)
    label = rpath.name
    subjects = set(study.subject_ids)
    old_frame = study.tables[TABLE]
    old_lines = study.lines.get(TABLE) or tuple(range(2, len(old_frame) + 2))
    old_texts = _texts(old_frame, spec)
    old_by_key = {(t["subject_id"], t["sample_date"]): i for i, t in enumerate(old_texts)}
    new_texts = _texts(new_frame, spec)
    changes: list[RowChange] = []
    seen: dict[tuple[str, str], int] = {}
    keep_new: list[int] = []
    drop_old: set[int] = set()
    for pos, t in enumerate(new_texts):
        line = new_lines[pos]
        key = (t["subject_id"], t["sample_date"])
        if not key[0] or not key[1]:
            continue  # reported by the reader (required)
        if key[0] not in subjects:
            problems.append(f"{label}:{line}: subject_id: references subjects.subject_id: "
                            f"{key[0]}")
            continue
        if key in seen:
            problems.append(f"{label}:{line}: subject_id+sample_date: unique_key (same key as "
                            f"row {seen[key]}): {key[0]}|{key[1]}")
            continue
        seen[key] = line
        if key in old_by_key:
            i = old_by_key[key]
            if old_texts[i] == t:
                changes.append(RowChange(line, *key, "unchanged", old_texts[i], t))
                continue
            if not replace:
                problems.append(
                    f"{label}:{line}: subject_id+sample_date: exists (in {TABLE}.csv line "
                    f"{old_lines[i]} with other values; use --replace): {key[0]}|{key[1]}"
                )
                continue
            drop_old.add(i)
            changes.append(RowChange(line, *key, "replaced", old_texts[i], t))
        else:
            changes.append(RowChange(line, *key, "added", {}, t))
        keep_new.append(pos)
    if problems:
        raise ResultsImportError(problems)
    target = folder / spec.csv_name
    if not keep_new:
        return ImportReport(target, tuple(changes), (), False)
    kept_old = [i for i in range(len(old_frame)) if i not in drop_old]
    merged = pd.concat(
        [old_frame.iloc[kept_old], new_frame.iloc[keep_new]], ignore_index=True
    ).astype(old_frame.dtypes.to_dict())
    # where each merged row came from, for messages
    origin = [(f"{TABLE}.csv", old_lines[i]) for i in kept_old] + [
        (label, new_lines[p]) for p in keep_new
    ]
    merged_study = study.with_table(TABLE, merged)
    before = {str(p) for p in validate(study).problems}
    new_errors: list[str] = []
    warnings: list[str] = []
    for p in validate(merged_study).problems:
        text = str(p)
        if p.table == TABLE and p.row >= 2 and p.row - 2 < len(origin):
            file, line = origin[p.row - 2]
            text = f"{file}:{line}: {p.field}: {p.rule_text}: {p.value}"
            if file == label:
                (new_errors if p.is_error else warnings).append(text)
                continue
        if text not in before and p.is_error:
            new_errors.append(text)
    if new_errors:
        raise ResultsImportError(new_errors)
    if not dry_run:
        write_bytes_atomic(target, csv_bytes(merged, spec), overwrite=True)
    return ImportReport(target, tuple(changes), tuple(warnings), not dry_run)
