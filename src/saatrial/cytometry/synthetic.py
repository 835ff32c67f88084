"""Synthetic Treg-panel FCS files with known truth (for tests and demos).

:func:`write_synthetic_fcs` writes one FCS 3.1 file laid out like a
FACSCanto II acquisition of the trial's Treg panel (TRIAL.md section 8):
``FSC-A, FSC-H, SSC-A, FITC-A, PE-A, PerCP-Cy5-5-A, APC-A, Time``, with
``$PnS`` ``CD25 PE``, ``CD4 PerCP-Cy5.5``, ``CD127 APC`` in the stained tube
and ``IgG1 PE``, ``CD4 PerCP-Cy5.5``, ``IgG1 APC`` in the isotype tube. It
returns a :class:`SyntheticTruth` with the counts a perfect analysis finds.
:func:`write_synthetic_pair` writes the stained and the isotype tube of one
sample.

The model (linear fluorescence units, 18-bit scale as on a Canto II):

* lymphocytes: FSC ~ 55k, SSC ~ 12k (bivariate normal). CD4+ are a
  ``cd4_fraction`` of them (CD4 log-normal, median 9000); of the CD4+,
  ``treg_fraction`` are Tregs (CD25 median 6000, CD127 at the isotype
  background), ``activated_fraction`` of the rest are activated conventional
  cells (CD25 median 1500 **and** CD127 median 4000), the others CD25- CD127+.
* monocytes (FSC 85k, SSC 40k; CD4 dim, median 1500), granulocytes
  (FSC 100k, SSC 110k), debris (low FSC/SSC, exponential).
* TruCount beads: ``bead_events`` events, low FSC, bright in all four
  detectors (FITC median 60000), i.e. far above every cell in the unused FITC.
* every cell: autofluorescence (log-normal, median 120 for lymphocytes) and
  non-specific antibody binding (median 60) on PE and APC; the isotype tube
  has only these on PE and APC.
* detectors see ``true @ spillover`` (rows = fluorochromes, columns =
  detectors in the order FITC, PE, PerCP-Cy5.5, APC) plus noise with variance
  ``30**2 + 3 * signal`` (electronic + photon statistics), so a wrong or
  missing compensation shifts the populations.

Absolute counts in the truth use the TruCount formula on the true event
counts: ``cells/uL = n_cells / n_beads * beads_per_tube / blood_volume_ul``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from saatrial.cytometry.compensation import Spillover
from saatrial.cytometry.errors import CytometryError
from saatrial.cytometry.fcs_writer import write_fcs

#: Channel layout of the synthetic files.
SYNTHETIC_PNN = ("FSC-A", "FSC-H", "SSC-A", "FITC-A", "PE-A", "PerCP-Cy5-5-A", "APC-A", "Time")
FLUORESCENCE = ("FITC-A", "PE-A", "PerCP-Cy5-5-A", "APC-A")
_PNS = {
    "stained": ("", "", "", "", "CD25 PE", "CD4 PerCP-Cy5.5", "CD127 APC", ""),
    "isotype": ("", "", "", "", "IgG1 PE", "CD4 PerCP-Cy5.5", "IgG1 APC", ""),
}
#: Population codes stored in :attr:`SyntheticTruth.population`.
POPULATIONS = (
    "debris", "bead", "lymphocyte_cd4neg", "cd4_conventional", "cd4_activated", "treg",
    "monocyte", "granulocyte",
)
_CODE = {name: i for i, name in enumerate(POPULATIONS)}
_TOP = 262143.0

#: A plausible FACSCanto II spillover for FITC, PE, PerCP-Cy5.5, APC.
TREG_SPILLOVER = Spillover.from_matrix(
    FLUORESCENCE,
    [
        [1.00, 0.22, 0.03, 0.00],
        [0.01, 1.00, 0.25, 0.01],
        [0.00, 0.00, 1.00, 0.10],
        [0.00, 0.00, 0.02, 1.00],
    ],
    source="synthetic",
)


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate. Counts are events in the file.

    Parameters
    ----------
    seed : int
        Random seed; the isotype tube uses the same seed with its own stream.
    tube : {"stained", "isotype"}
        Stained (CD25/CD127) or isotype control (IgG1 on PE and APC).
    n_lymphocytes : int
        Lymphocyte events.
    cd4_fraction : float
        CD4+ share of lymphocytes.
    treg_fraction : float
        Treg share of CD4+ lymphocytes (CD25 bright, CD127 at background).
    activated_fraction : float
        Share of the non-Treg CD4+ cells that are CD25+ but CD127+.
    n_monocytes, n_granulocytes, n_debris : int
        Other events.
    bead_events : int
        TruCount bead events acquired.
    beads_per_tube : int
        Beads in the tube (lot number on the pouch), for the truth's cells/uL.
    blood_volume_ul : float
        Blood volume in the tube, uL.
    spillover : Spillover or None
        Applied to the fluorescence and written as ``$SPILLOVER``; None = none.
    """

    seed: int = 0
    tube: Literal["stained", "isotype"] = "stained"
    n_lymphocytes: int = 40_000
    cd4_fraction: float = 0.45
    treg_fraction: float = 0.06
    activated_fraction: float = 0.08
    n_monocytes: int = 6_000
    n_granulocytes: int = 30_000
    n_debris: int = 8_000
    bead_events: int = 10_000
    beads_per_tube: int = 50_000
    blood_volume_ul: float = 50.0
    spillover: Spillover | None = TREG_SPILLOVER

    def __post_init__(self) -> None:
        if self.tube not in _PNS:
            raise CytometryError(f"synthetic spec: tube {self.tube!r} is not stained/isotype")
        for name in ("cd4_fraction", "treg_fraction", "activated_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise CytometryError(f"synthetic spec: {name} {v} not in [0, 1]")
        for name in ("n_lymphocytes", "n_monocytes", "n_granulocytes", "n_debris", "bead_events"):
            if getattr(self, name) < 0:
                raise CytometryError(f"synthetic spec: {name} < 0")
        if self.beads_per_tube <= 0 or self.blood_volume_ul <= 0:
            raise CytometryError("synthetic spec: beads_per_tube and blood_volume_ul must be > 0")
        if self.spillover is not None and set(self.spillover.labels) - set(FLUORESCENCE):
            raise CytometryError(f"synthetic spec: spillover labels must be among {FLUORESCENCE}")


@dataclass(frozen=True, eq=False)
class SyntheticTruth:
    """The populations written to one synthetic file.

    Parameters
    ----------
    path : pathlib.Path
        File written.
    spec : SyntheticSpec
        How it was made.
    n_events, n_lymphocytes, n_cd4, n_treg, n_activated, n_beads : int
        Event counts (``n_cd4`` includes Tregs and activated cells).
    population : numpy.ndarray
        Code (index into :data:`POPULATIONS`) of every event, in file order.
    """

    path: Path
    spec: SyntheticSpec
    n_events: int
    n_lymphocytes: int
    n_cd4: int
    n_treg: int
    n_activated: int
    n_beads: int
    population: np.ndarray = field(repr=False)

    @property
    def treg_pct_of_cd4(self) -> float:
        """True Treg % of CD4+ lymphocytes."""
        return 100.0 * self.n_treg / self.n_cd4 if self.n_cd4 else float("nan")

    def _per_ul(self, n: int) -> float:
        if self.n_beads == 0:
            return float("nan")
        return n / self.n_beads * self.spec.beads_per_tube / self.spec.blood_volume_ul

    @property
    def cd4_per_ul(self) -> float:
        """True CD4+ lymphocytes per uL blood (TruCount formula on true counts)."""
        return self._per_ul(self.n_cd4)

    @property
    def treg_per_ul(self) -> float:
        """True Tregs per uL blood."""
        return self._per_ul(self.n_treg)


@dataclass(frozen=True)
class SyntheticPair:
    """Stained and isotype tubes of one synthetic sample."""

    stained_path: Path
    isotype_path: Path
    stained: SyntheticTruth
    isotype: SyntheticTruth


def _lognormal(rng: np.random.Generator, median: float, sdlog: float, n: int) -> np.ndarray:
    return median * np.exp(sdlog * rng.standard_normal(n))


def _scatter(
    rng: np.random.Generator, n: int, mean: tuple[float, float], sd: tuple[float, float],
    rho: float = 0.3,
) -> np.ndarray:
    cov = np.array([[sd[0] ** 2, rho * sd[0] * sd[1]], [rho * sd[0] * sd[1], sd[1] ** 2]])
    return rng.multivariate_normal(mean, cov, size=n, method="cholesky")


def _generate(spec: SyntheticSpec) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    rng = np.random.default_rng([spec.seed, 0 if spec.tube == "stained" else 1])
    n_cd4 = round(spec.n_lymphocytes * spec.cd4_fraction)
    n_treg = round(n_cd4 * spec.treg_fraction)
    n_act = round((n_cd4 - n_treg) * spec.activated_fraction)
    counts = {
        "debris": spec.n_debris,
        "bead": spec.bead_events,
        "lymphocyte_cd4neg": spec.n_lymphocytes - n_cd4,
        "cd4_conventional": n_cd4 - n_treg - n_act,
        "cd4_activated": n_act,
        "treg": n_treg,
        "monocyte": spec.n_monocytes,
        "granulocyte": spec.n_granulocytes,
    }
    pop = np.concatenate([np.full(n, _CODE[k], dtype=np.int8) for k, n in counts.items()])
    n = pop.size
    if n == 0:
        raise CytometryError("synthetic spec: no events")
    fsc = np.empty(n)
    ssc = np.empty(n)
    true = np.zeros((n, 4))  # FITC, PE, PerCP-Cy5.5, APC (fluorochrome amounts)
    F, PE, PC, APC = 0, 1, 2, 3
    stained = spec.tube == "stained"
    lymph = {"lymphocyte_cd4neg", "cd4_conventional", "cd4_activated", "treg"}
    for name, code in _CODE.items():
        idx = np.flatnonzero(pop == code)
        k = idx.size
        if k == 0:
            continue
        if name in lymph:
            xy = _scatter(rng, k, (55_000, 12_000), (5_500, 2_500))
            auto = 120.0
        elif name == "monocyte":
            xy = _scatter(rng, k, (85_000, 40_000), (9_000, 7_000))
            auto = 300.0
        elif name == "granulocyte":
            xy = _scatter(rng, k, (100_000, 110_000), (12_000, 20_000))
            auto = 450.0
        elif name == "debris":
            xy = np.column_stack([rng.exponential(7_000, k), rng.exponential(6_000, k)])
            auto = 60.0
        else:  # bead
            xy = np.column_stack([rng.normal(15_000, 1_500, k), rng.normal(25_000, 2_500, k)])
            auto = 0.0
        fsc[idx], ssc[idx] = xy[:, 0], xy[:, 1]
        if name == "bead":
            for ch, med in ((F, 60_000), (PE, 45_000), (PC, 25_000), (APC, 30_000)):
                true[idx, ch] = _lognormal(rng, med, 0.06, k)
            continue
        for ch in (F, PE, PC, APC):
            true[idx, ch] = _lognormal(rng, auto, 0.35, k)
        if name != "debris":  # non-specific binding of the PE and APC reagents (both tubes)
            true[idx, PE] += _lognormal(rng, 60.0, 0.4, k)
            true[idx, APC] += _lognormal(rng, 60.0, 0.4, k)
        if name in ("cd4_conventional", "cd4_activated", "treg"):
            true[idx, PC] += _lognormal(rng, 9_000, 0.25, k)
        elif name == "monocyte":
            true[idx, PC] += _lognormal(rng, 1_500, 0.3, k)
        if not stained:
            continue
        if name == "treg":
            true[idx, PE] += _lognormal(rng, 6_000, 0.3, k)
        elif name == "cd4_activated":
            true[idx, PE] += _lognormal(rng, 1_500, 0.35, k)
            true[idx, APC] += _lognormal(rng, 4_000, 0.35, k)
        elif name == "cd4_conventional":
            true[idx, APC] += _lognormal(rng, 4_000, 0.35, k)
        elif name == "lymphocyte_cd4neg":
            half = idx[: k // 2]  # CD8 T cells are CD127+ too
            true[half, APC] += _lognormal(rng, 2_500, 0.6, half.size)
    if spec.spillover is not None:
        order = [FLUORESCENCE.index(label) for label in spec.spillover.labels]
        full = np.eye(4)
        full[np.ix_(order, order)] = spec.spillover.matrix
        signal = true @ full
    else:
        signal = true
    noise_sd = np.sqrt(30.0**2 + 3.0 * np.clip(signal, 0, None))
    fl = np.clip(signal + noise_sd * rng.standard_normal(signal.shape), -_TOP, _TOP)
    fsc = np.clip(fsc, 0, _TOP)
    ssc = np.clip(ssc, 0, _TOP)
    fsc_h = np.clip(fsc * 0.85 * np.exp(0.03 * rng.standard_normal(n)), 0, _TOP)
    time = np.sort(rng.uniform(0, 12_000, n))
    perm = rng.permutation(n)
    events = np.column_stack([fsc, fsc_h, ssc, fl[:, 0], fl[:, 1], fl[:, 2], fl[:, 3], np.empty(n)])
    events = events[perm]
    events[:, 7] = time  # acquisition order
    return events, pop[perm], counts


def write_synthetic_fcs(
    path: str | os.PathLike[str], spec: SyntheticSpec | None = None
) -> SyntheticTruth:
    """Write one synthetic Treg-panel tube as FCS 3.1 and return its truth.

    Parameters
    ----------
    path : str or path-like
        Target ``.fcs`` file (folder must exist; replaced atomically).
    spec : SyntheticSpec, optional
        Defaults to ``SyntheticSpec()`` (stained tube, 6 % Tregs, 10,000 beads).

    Returns
    -------
    SyntheticTruth

    Examples
    --------
    >>> import tempfile
    >>> from saatrial.cytometry.fcs import read_fcs
    >>> p = Path(tempfile.mkdtemp()) / "s.fcs"
    >>> t = write_synthetic_fcs(p, SyntheticSpec(seed=1, n_lymphocytes=2000, bead_events=500))
    >>> t.n_cd4, t.n_treg, t.n_beads, round(t.treg_pct_of_cd4, 2)
    (900, 54, 500, 6.0)
    >>> s = read_fcs(p)
    >>> s.n_events == t.n_events, s.spillover.labels == FLUORESCENCE
    (True, True)
    """
    sp = spec if spec is not None else SyntheticSpec()
    events, pop, counts = _generate(sp)
    target = Path(path)
    write_fcs(
        target,
        events,
        SYNTHETIC_PNN,
        pns=_PNS[sp.tube],
        pnr=[262144] * 7 + [12_000],
        spillover=sp.spillover,
        keywords={
            "$CYT": "saatrial synthetic (FACSCanto II layout)",
            "$SRC": f"synthetic Treg panel, {sp.tube} tube, seed {sp.seed}",
            "$FIL": target.name,
            "$DATE": "01-JAN-2024",
            "$TIMESTEP": "0.01",
        },
    )
    n_cd4 = counts["cd4_conventional"] + counts["cd4_activated"] + counts["treg"]
    return SyntheticTruth(
        path=target,
        spec=sp,
        n_events=int(pop.size),
        n_lymphocytes=sp.n_lymphocytes,
        n_cd4=n_cd4,
        n_treg=counts["treg"],
        n_activated=counts["cd4_activated"],
        n_beads=counts["bead"],
        population=pop,
    )


def write_synthetic_pair(
    directory: str | os.PathLike[str], spec: SyntheticSpec | None = None, stem: str = "sample"
) -> SyntheticPair:
    """Write ``<stem>_stained.fcs`` and ``<stem>_isotype.fcs`` for one sample.

    Both tubes share the spec (same population sizes and spillover); the
    isotype tube draws its own events.
    """
    sp = spec if spec is not None else SyntheticSpec()
    folder = Path(directory)
    stained = write_synthetic_fcs(
        folder / f"{stem}_stained.fcs", dataclasses.replace(sp, tube="stained")
    )
    isotype = write_synthetic_fcs(
        folder / f"{stem}_isotype.fcs", dataclasses.replace(sp, tube="isotype")
    )
    return SyntheticPair(stained.path, isotype.path, stained, isotype)
