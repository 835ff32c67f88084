"""Derive all analysis datasets of a study and write them as CSV.

:func:`derive_all` runs the derivations in dependency order - ADRS (computed
responses) -> endpoints -> ADTTE, ADSL (best response, OS/FFS summary) ->
ADLB -> ADAE (actual treatment from ADSL) - and returns an
:class:`AnalysisDatasets` with every dataset and every note (what could not be
derived, and why; recorded values that differ from computed ones).

The derivations never fail on gaps in the data (missing tables, visits,
values, subjects without a first rATG dose): such gaps leave cells empty and
add a note. They do raise for a protocol that cannot be loaded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from saatrial.atomic import write_bytes_atomic
from saatrial.derive import adae, adlb, adrs, adsl, adtte
from saatrial.derive.common import Column, Note, build_frame, frame_csv_bytes
from saatrial.derive.context import build_context
from saatrial.protocol import Protocol
from saatrial.study import StudyData

__all__ = [
    "DATASETS",
    "NOTES_FILE",
    "AnalysisDatasets",
    "dataset_columns",
    "derive_all",
    "write_csv",
]

#: Dataset name -> its column specs, in the order they are written.
DATASETS: dict[str, tuple[Column, ...]] = {
    "adsl": adsl.COLUMNS,
    "adlb": adlb.COLUMNS,
    "adrs": adrs.COLUMNS,
    "adtte": adtte.COLUMNS,
    "adae": adae.COLUMNS,
}
#: File the notes are written to beside the datasets.
NOTES_FILE = "derive_notes.csv"
_NOTE_COLUMNS = (
    Column("DATASET", "text", "Dataset"),
    Column("SUBJID", "text", "Subject"),
    Column("MESSAGE", "text", "Note"),
)


@dataclass(frozen=True, eq=False)
class AnalysisDatasets:
    """The ADaM-shaped analysis datasets of one study.

    Attributes
    ----------
    adsl, adlb, adrs, adtte, adae : pandas.DataFrame
        The datasets (columns documented in each module of
        :mod:`saatrial.derive`).
    notes : tuple of Note
        Everything that could not be derived and why, and every disagreement
        between recorded and computed values.
    """

    adsl: pd.DataFrame
    adlb: pd.DataFrame
    adrs: pd.DataFrame
    adtte: pd.DataFrame
    adae: pd.DataFrame
    notes: tuple[Note, ...]

    def __iter__(self) -> Iterator[tuple[str, pd.DataFrame]]:
        """``(name, frame)`` for each dataset, in :data:`DATASETS` order."""
        for name in DATASETS:
            yield name, getattr(self, name)

    def notes_frame(self) -> pd.DataFrame:
        """The notes as a DataFrame (DATASET, SUBJID, MESSAGE)."""
        return build_frame(
            [
                {"DATASET": n.dataset, "SUBJID": n.subject_id, "MESSAGE": n.message}
                for n in self.notes
            ],
            _NOTE_COLUMNS,
        )

    def csv_files(self) -> dict[str, bytes]:
        """File name -> CSV bytes: ``adsl.csv`` ... ``adae.csv`` and :data:`NOTES_FILE`."""
        files = {f"{name}.csv": frame_csv_bytes(frame, DATASETS[name]) for name, frame in self}
        files[NOTES_FILE] = frame_csv_bytes(self.notes_frame(), _NOTE_COLUMNS)
        return files

    def write_csv(self, folder: str | Path, overwrite: bool = False) -> list[Path]:
        """Write every dataset as ``<name>.csv`` (and the notes) into ``folder``.

        See :func:`write_csv`.
        """
        return write_csv(self, folder, overwrite=overwrite)


def derive_all(
    study: StudyData,
    protocol: Protocol | str | None = None,
    *,
    ctcae_version: str | None = None,
) -> AnalysisDatasets:
    """Derive ADSL, ADLB, ADRS, ADTTE and ADAE from a study and its protocol.

    Parameters
    ----------
    study : StudyData
        The study (e.g. :func:`saatrial.study.load_bundled_study`).
    protocol : Protocol or str, optional
        Protocol or its name/path; default the study's ``protocol_id``.
    ctcae_version : str, optional
        CTCAE version for laboratory grading; default v4.03 (TRIAL.md 6).

    Returns
    -------
    AnalysisDatasets

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> ds = derive_all(load_bundled_study())
    >>> len(ds.adsl), sorted(ds.adtte["PARAMCD"].unique())
    (18, ['FFS', 'OS'])
    """
    ctx = build_context(study, protocol, ctcae_version)
    rs = adrs.derive_adrs(ctx)
    endpoints = adtte.compute_endpoints(ctx, rs.frame)
    tte = adtte.derive_adtte(ctx, endpoints=endpoints)
    sl = adsl.derive_adsl(ctx, rs.frame, endpoints.by_subject)
    lb = adlb.derive_adlb(ctx)
    ae = adae.derive_adae(ctx, sl.frame)
    notes = (*ctx.notes, *sl.notes, *lb.notes, *rs.notes, *tte.notes, *ae.notes)
    return AnalysisDatasets(sl.frame, lb.frame, rs.frame, tte.frame, ae.frame, notes)


def write_csv(
    datasets: AnalysisDatasets, folder: str | Path, overwrite: bool = False
) -> list[Path]:
    """Write the datasets as CSV files into ``folder``, never leaving a half-written file.

    Every file's bytes are rendered first (an error there writes nothing);
    each file is then written to a temporary file in ``folder`` and renamed
    onto its name, so a reader sees either the old or the new complete file.
    ``folder`` is created if needed and may hold other files (the report
    writes beside them).

    Parameters
    ----------
    datasets : AnalysisDatasets
    folder : str or Path
        Target folder.
    overwrite : bool, default False
        Replace existing dataset files; otherwise an existing one is refused
        before anything is written.

    Returns
    -------
    list of Path
        The files written: ``adsl.csv``, ``adlb.csv``, ``adrs.csv``,
        ``adtte.csv``, ``adae.csv`` and ``derive_notes.csv``.

    Raises
    ------
    FileExistsError
        A target file exists and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile
    >>> from saatrial.study import load_bundled_study
    >>> paths = derive_all(load_bundled_study()).write_csv(tempfile.mkdtemp())
    >>> [p.name for p in paths]
    ['adsl.csv', 'adlb.csv', 'adrs.csv', 'adtte.csv', 'adae.csv', 'derive_notes.csv']
    """
    files = datasets.csv_files()
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a folder")
    if not overwrite:
        existing = [name for name in files if (target / name).exists()]
        if existing:
            raise FileExistsError(
                f"{target}: {', '.join(existing)} exist; pass overwrite=True to replace them"
            )
    target.mkdir(parents=True, exist_ok=True)
    return [
        write_bytes_atomic(target / name, content, overwrite=True)
        for name, content in files.items()
    ]


def dataset_columns(name: str) -> Sequence[Column]:
    """Column specs of a dataset by name (``adsl`` ... ``adae``).

    Examples
    --------
    >>> [c.name for c in dataset_columns("adtte")][:3]
    ['STUDYID', 'USUBJID', 'SUBJID']
    """
    try:
        return DATASETS[name.lower()]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}") from None
