"""A demo batch: synthetic Treg samples of a study's subjects, a manifest, and the truth.

:func:`write_demo_batch` writes, into a new folder::

    manifest.csv   subject_id, sample_date, visit, stained_file, isotype_file,
                   beads_per_tube, blood_volume_ul (paths relative to the folder)
    truth.csv      per sample the true Treg % of CD4+, CD4+/uL and Treg/uL (from the
                   generator's populations) and, for broken samples, what was broken
    fcs/<subject>_<date>_{stained,isotype}.fcs

Subjects come from a study (default the bundled NCT02218437 study), in the
order of its subjects table, so that the batch's results import into that
study: each sample is dated 180 days after the subject's enrolment (a second
round, if more samples than subjects are asked for, 30 days later, and so
on), skipping dates after the data cut-off or the subject's death, before
consent, or already in its T-cell subsets table.

Broken samples (``n_broken``) exercise the batch's failure handling, in
this order: a stained file truncated inside its DATA segment; an isotype
file whose CD127 detector is named ``APC-Cy7-A`` instead of ``APC-A`` (wrong
channel names); a stained "file" that is not FCS at all; an isotype file
listed in the manifest but absent.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from saatrial.atomic import building_folder
from saatrial.cytometry.errors import CytometryError
from saatrial.cytometry.fcs import read_fcs
from saatrial.cytometry.fcs_writer import write_fcs
from saatrial.cytometry.synthetic import SyntheticSpec, write_synthetic_pair

if TYPE_CHECKING:
    from saatrial.study import StudyData

#: Kinds of broken sample, in the order they are used.
BROKEN_KINDS = ("truncated", "wrong_channels", "not_fcs", "missing")
_DEFAULT_EVENTS = 94_000  # events of a default SyntheticSpec()


@dataclass(frozen=True)
class DemoSample:
    """One sample of the demo batch and its truth.

    Parameters
    ----------
    subject_id : str
    sample_date : datetime.date
    visit : str
    stained_file, isotype_file : str
        Paths relative to the demo folder.
    beads_per_tube : int
    blood_volume_ul : float
    treg_pct_of_cd4, cd4_per_ul, treg_per_ul : float
        Truth of the stained tube (NaN for broken samples' unreadable files).
    broken : str
        '' or one of :data:`BROKEN_KINDS`.
    """

    subject_id: str
    sample_date: dt.date
    visit: str
    stained_file: str
    isotype_file: str
    beads_per_tube: int
    blood_volume_ul: float
    treg_pct_of_cd4: float
    cd4_per_ul: float
    treg_per_ul: float
    broken: str = ""


@dataclass(frozen=True)
class DemoBatch:
    """What :func:`write_demo_batch` wrote."""

    folder: Path
    manifest_path: Path
    truth_path: Path
    samples: tuple[DemoSample, ...]

    @property
    def broken(self) -> tuple[DemoSample, ...]:
        """The deliberately broken samples."""
        return tuple(s for s in self.samples if s.broken)


def _sample_dates(study: StudyData, n: int) -> list[tuple[str, dt.date, str]]:
    subjects = study.tables["subjects"]
    cutoff_raw = study.tables["study"]["data_cutoff_date"]
    cutoff = cutoff_raw.iloc[0].date() if len(cutoff_raw) else dt.date.max
    events = study.tables["outcome_events"]
    deaths: dict[str, dt.date] = {}
    for sid, kind, date in zip(events["subject_id"], events["event_type"], events["event_date"],
                               strict=True):
        if kind == "DEATH" and not _missing(date):
            d = date.date()
            deaths[str(sid)] = min(d, deaths.get(str(sid), d))
    tc = study.tables["tcell_subsets"]
    taken = {(str(s), d.date()) for s, d in zip(tc["subject_id"], tc["sample_date"], strict=True)}
    out: list[tuple[str, dt.date, str]] = []
    for rnd in range(60):
        for sid, consent, enrol in zip(subjects["subject_id"], subjects["consent_date"],
                                       subjects["enrolment_date"], strict=True):
            if len(out) == n:
                return out
            start = enrol if not _missing(enrol) else consent
            if _missing(start):
                continue
            date = start.date() + dt.timedelta(days=180 + 30 * rnd)
            ok = (
                date <= cutoff
                and (_missing(consent) or date >= consent.date())
                and date <= deaths.get(str(sid), dt.date.max)
                and (str(sid), date) not in taken
            )
            if ok:
                out.append((str(sid), date, "D180" if rnd == 0 else ""))
    if len(out) < n:
        raise CytometryError(
            f"demo batch: the study offers only {len(out)} subject/date pairs, {n} asked for"
        )
    return out


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT


def _break(kind: str, stained: Path, isotype: Path) -> None:
    if kind == "truncated":
        data = stained.read_bytes()
        stained.write_bytes(data[: int(len(data) * 0.6)])
    elif kind == "wrong_channels":
        s = read_fcs(isotype, preprocess=False)
        pnn = ["APC-Cy7-A" if c == "APC-A" else c for c in s.pnn]
        sp = s.spillover
        if sp is not None:
            sp = dataclasses.replace(
                sp, labels=tuple("APC-Cy7-A" if c == "APC-A" else c for c in sp.labels)
            )
        write_fcs(isotype, s.events, pnn, pns=s.pns,
                  pnr=[c.range for c in s.channels], spillover=sp,
                  keywords={"$CYT": "saatrial demo: wrong channel names"})
    elif kind == "not_fcs":
        stained.write_text("Sample,CD4+ %,CD25+ %,Treg %\n" + "S01,45.1,7.9,6.2\n" * 20,
                           encoding="utf-8")  # a CSV export saved as .fcs
    elif kind == "missing":
        isotype.unlink()
    else:  # pragma: no cover - guarded by the caller
        raise CytometryError(f"unknown broken kind {kind!r}")


def write_demo_batch(
    folder: str | os.PathLike[str],
    *,
    n_samples: int = 20,
    n_broken: int = 2,
    events: int = 20_000,
    study: StudyData | None = None,
    seed: int = 2024,
    force: bool = False,
) -> DemoBatch:
    """Write a demo batch (synthetic FCS pairs, manifest, truth) into ``folder``.

    Parameters
    ----------
    folder : path
        Created atomically; must not exist or be empty (unless ``force``).
    n_samples : int, default 20
        Samples (pairs of tubes).
    n_broken : int, default 2
        How many of them are deliberately broken (see the module notes).
    events : int, default 20000
        Approximate events per tube (populations scaled from :class:`SyntheticSpec`).
    study : StudyData, optional
        Study whose subjects are used; default the bundled study.
    seed : int
        Seeds the per-sample Treg fraction, bead events and beads per tube.
    force : bool
        Replace a non-empty ``folder``.

    Returns
    -------
    DemoBatch

    Examples
    --------
    >>> import tempfile
    >>> demo = write_demo_batch(Path(tempfile.mkdtemp()) / "demo", n_samples=3, n_broken=1,
    ...                         events=4_000)
    >>> [(s.subject_id, s.sample_date.isoformat(), s.broken) for s in demo.samples]
    [('CTL01', '2014-04-16', ''), ('CTL02', '2014-05-21', 'truncated'), ('CTL03', '2014-07-02', '')]
    >>> demo.manifest_path.read_text().splitlines()[1]
    'CTL01,2014-04-16,D180,fcs/CTL01_2014-04-16_stained.fcs,fcs/CTL01_2014-04-16_isotype.fcs,46353,50'
    """
    if n_samples < 1 or not 0 <= n_broken <= n_samples:
        raise CytometryError(
            f"demo batch: need n_samples >= 1 and 0 <= n_broken <= n_samples, got "
            f"{n_samples}, {n_broken}"
        )
    if events < 2_000:
        raise CytometryError(f"demo batch: events {events} < 2000 is too few to gate")
    if study is None:
        from saatrial.study import load_bundled_study

        study = load_bundled_study()
    target = Path(folder)
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not force:
        raise FileExistsError(f"{target} exists and is not empty; use --force to replace it")
    picks = _sample_dates(study, n_samples)
    rng = np.random.default_rng(seed)
    scale = events / _DEFAULT_EVENTS
    broken_at = {
        round((k + 1) * n_samples / (n_broken + 1)) - 1: BROKEN_KINDS[k % len(BROKEN_KINDS)]
        for k in range(n_broken)
    }
    with building_folder(target) as tmp:
        (tmp / "fcs").mkdir()
        samples = []
        for idx, (sid, date, visit) in enumerate(picks):
            stem = f"{sid}_{date.isoformat()}"
            spec = SyntheticSpec(
                seed=seed * 1000 + idx,
                treg_fraction=float(rng.uniform(0.02, 0.15)),
                n_lymphocytes=round(40_000 * scale),
                n_monocytes=round(6_000 * scale),
                n_granulocytes=round(30_000 * scale),
                n_debris=round(8_000 * scale),
                bead_events=round(10_000 * scale * rng.uniform(0.7, 1.3)),
                beads_per_tube=int(rng.integers(40_000, 60_001)),
                blood_volume_ul=50.0,  # the paper splits 100 uL of blood into two tubes
            )
            pair = write_synthetic_pair(tmp / "fcs", spec, stem)
            kind = broken_at.get(idx, "")
            if kind:
                _break(kind, pair.stained_path, pair.isotype_path)
            t = pair.stained
            samples.append(DemoSample(
                subject_id=sid, sample_date=date, visit=visit,
                stained_file=f"fcs/{pair.stained_path.name}",
                isotype_file=f"fcs/{pair.isotype_path.name}",
                beads_per_tube=spec.beads_per_tube, blood_volume_ul=spec.blood_volume_ul,
                treg_pct_of_cd4=t.treg_pct_of_cd4, cd4_per_ul=t.cd4_per_ul,
                treg_per_ul=t.treg_per_ul, broken=kind,
            ))
        (tmp / "manifest.csv").write_text(_manifest_text(samples), encoding="utf-8", newline="")
        (tmp / "truth.csv").write_text(_truth_text(samples), encoding="utf-8", newline="")
    return DemoBatch(target, target / "manifest.csv", target / "truth.csv", tuple(samples))


def _csv(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _manifest_text(samples: list[DemoSample]) -> str:
    return _csv(
        ["subject_id", "sample_date", "visit", "stained_file", "isotype_file", "beads_per_tube",
         "blood_volume_ul"],
        [[s.subject_id, s.sample_date.isoformat(), s.visit, s.stained_file, s.isotype_file,
          str(s.beads_per_tube), format(s.blood_volume_ul, "g")] for s in samples],
    )


def _truth_text(samples: list[DemoSample]) -> str:
    return _csv(
        ["subject_id", "sample_date", "treg_pct_of_cd4", "cd4_per_ul", "treg_per_ul", "broken"],
        [[s.subject_id, s.sample_date.isoformat(), format(s.treg_pct_of_cd4, ".10g"),
          format(s.cd4_per_ul, ".10g"), format(s.treg_per_ul, ".10g"), s.broken]
         for s in samples],
    )
