"""Deterministic automatic gates: density valleys, TruCount beads, lymphocytes.

No random starts and no iteration limits that depend on data order: the same
events give the same gates, bit for bit.

* :func:`valley_threshold` - a 1-D threshold at the density minimum between
  two modes, found on a logicle scale (CD4- vs CD4+; cells vs beads).
* :func:`auto_bead_gate` - beads are the brightest mode of an unstained
  detector; the gate starts at the valley below that mode.
* :func:`auto_lymphocyte_gate` - the lymphocyte cluster is the lowest-SSC
  density peak on FSC-A/SSC-A above the debris; its gate is the ellipse that
  holds ``coverage`` of a bivariate normal fitted to the cluster's core
  (mean and covariance of the events within the 90 % ellipse, iterated, with
  the consistency factor for a truncated normal), drawn as a polygon.

References
----------
.. [1] Croux C, Haesbroeck G. Influence function and efficiency of the minimum
   covariance determinant scatter matrix estimator. J Multivar Anal
   1999;71:161-190 (consistency factor of a truncated normal covariance).
.. [2] Parks DR, Roederer M, Moore WA. Cytometry A 2006;69A:541-551 (logicle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import ndimage

from saatrial.cytometry.errors import GatingError
from saatrial.cytometry.gates import BeadGate, EventSource, PolygonGate, ellipse_polygon
from saatrial.cytometry.transforms import Logicle, Transform


@dataclass(frozen=True)
class ValleyThreshold:
    """A threshold at the density minimum between two modes.

    Parameters
    ----------
    threshold : float
        Data value of the valley (linear units).
    lower_mode, upper_mode : float
        Data values of the two modes it separates.
    valley_scale : float
        The valley on the transformed scale used for the search.
    peaks_scale : tuple of float
        All modes found (transformed scale), ascending.
    method : str
        One-line description for logs.
    """

    threshold: float
    lower_mode: float
    upper_mode: float
    valley_scale: float
    peaks_scale: tuple[float, ...]
    method: str


def _smoothed_histogram(
    values: np.ndarray, transform: Transform, bin_width: float, sigma: float,
    clip_quantiles: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram on the transformed scale via exact bin edges in data units (no forward pass)."""
    lo_q, hi_q = np.quantile(values, clip_quantiles)
    lo, hi = (float(v) for v in transform.apply([lo_q, hi_q]))
    if not hi > lo:
        raise GatingError("all values are equal; no modes to separate")
    n_bins = max(int(np.ceil((hi - lo) / bin_width)), 1)
    edges_scale = lo + bin_width * np.arange(n_bins + 1)
    edges = transform.inverse(edges_scale)
    counts, _ = np.histogram(values, bins=edges)
    smooth = ndimage.gaussian_filter1d(
        counts.astype(np.float64), sigma / bin_width, mode="constant"
    )
    centers = 0.5 * (edges_scale[:-1] + edges_scale[1:])
    return centers, smooth


def _peaks(density: np.ndarray, min_fraction: float) -> np.ndarray:
    """Indices of modes whose height and prominence are >= ``min_fraction`` of the top.

    Prominence (the drop to the higher of the two valleys that separate a mode
    from any higher one) keeps noise wiggles in a tail from counting as modes.
    """
    from scipy.signal import find_peaks

    top = float(density.max())
    padded = np.concatenate([[0.0], density, [0.0]])  # modes at either end count too
    idx, _ = find_peaks(padded, height=min_fraction * top, prominence=min_fraction * top)
    return idx - 1


def valley_threshold(
    values: np.ndarray,
    transform: Transform | None = None,
    *,
    pick: Literal["two_highest", "brightest"] = "two_highest",
    bin_width: float = 1 / 256,
    sigma: float = 0.016,
    min_peak_fraction: float = 0.05,
    min_separation: float = 0.0,
    clip_quantiles: tuple[float, float] = (0.001, 0.999),
) -> ValleyThreshold:
    """Threshold at the density valley between two modes of a 1-D distribution.

    The values are histogrammed in steps of ``bin_width`` on the scale of
    ``transform`` (default logicle, T=262144, W=0.5, M=4.5, A=0, where one
    decade is about 0.22) between the ``clip_quantiles``, smoothed with a
    Gaussian of standard deviation ``sigma`` (scale units), and the modes are
    the local maxima whose height and prominence are at least
    ``min_peak_fraction`` of the highest. (With these defaults no spurious
    second mode appeared in 900 simulated log-normal samples of 500 to 50,000
    events.) ``pick="two_highest"`` separates the two tallest modes (CD4- vs
    CD4+); ``pick="brightest"`` separates the brightest mode from the next one
    below it (beads vs cells). The threshold is the lowest density between them.

    Parameters
    ----------
    values : numpy.ndarray
        1-D data values (linear units).
    transform : Transform, optional
        Scale on which modes are sought.
    pick : {"two_highest", "brightest"}
        Which two modes.
    bin_width, sigma, min_peak_fraction, clip_quantiles
        Histogram bin width and smoothing (scale units), mode cut-off, value range.
    min_separation : float, default 0
        Required distance between the two modes on the transformed scale.

    Returns
    -------
    ValleyThreshold

    Raises
    ------
    GatingError
        Fewer than 20 finite values, fewer than two modes, or modes too close.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.lognormal(np.log(100), 0.3, 5000),
    ...                     rng.lognormal(np.log(10000), 0.3, 5000)])
    >>> v = valley_threshold(x)
    >>> 300 < v.threshold < 3000, round(v.lower_mode, -2) in (0.0, 100.0), v.upper_mode > 5000
    (True, True, True)
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 20:
        raise GatingError(f"valley threshold needs >= 20 events, got {x.size}")
    tr = transform if transform is not None else Logicle()
    centers, dens = _smoothed_histogram(x, tr, bin_width, sigma, clip_quantiles)
    peaks = _peaks(dens, min_peak_fraction)
    if peaks.size < 2:
        raise GatingError(
            f"only {peaks.size} mode(s) found (modes >= {min_peak_fraction:g} of the highest); "
            "the populations are not separated - set the threshold explicitly"
        )
    if pick == "two_highest":
        top2 = peaks[np.argsort(dens[peaks], kind="stable")[-2:]]
        lo_pk, hi_pk = int(top2.min()), int(top2.max())
    elif pick == "brightest":
        lo_pk, hi_pk = int(peaks[-2]), int(peaks[-1])
    else:
        raise GatingError(f"pick={pick!r} unknown")
    if centers[hi_pk] - centers[lo_pk] < min_separation:
        raise GatingError(
            f"modes at scale {centers[lo_pk]:.3f} and {centers[hi_pk]:.3f} are closer than "
            f"{min_separation:g}"
        )
    seg = dens[lo_pk : hi_pk + 1]
    valley = lo_pk + int(np.argmin(seg))
    data = tr.inverse(np.array([centers[valley], centers[lo_pk], centers[hi_pk]]))
    return ValleyThreshold(
        threshold=float(data[0]),
        lower_mode=float(data[1]),
        upper_mode=float(data[2]),
        valley_scale=float(centers[valley]),
        peaks_scale=tuple(float(centers[i]) for i in peaks),
        method=(
            f"density valley ({pick}) on {type(tr).__name__} scale, bins {bin_width:.4g}, "
            f"Gaussian smoothing {sigma:g}, modes >= {min_peak_fraction:g} of max"
        ),
    )


def auto_bead_gate(
    events: EventSource,
    bead_channel: str,
    *,
    name: str = "beads",
    transform: Transform | None = None,
    min_peak_fraction: float = 0.002,
    min_separation: float = 0.2,
) -> tuple[BeadGate, ValleyThreshold]:
    """TruCount bead gate: events above the valley below the brightest mode of ``bead_channel``.

    ``bead_channel`` must be a detector no antibody of the panel uses, where the
    beads are the only bright events. With logicle M=4.5 (default transform),
    ``min_separation=0.2`` asks the bead mode to be about a decade above the
    cells; otherwise there are no beads and a :class:`GatingError` says so.
    The histogram runs up to the brightest event (beads may be fewer than
    0.1 % of events), and a bead mode needs only ``min_peak_fraction`` (0.2 %)
    of the cell mode's height: on synthetic tubes of ~94,000 events, 50 beads
    were found exactly and tubes without beads were refused.

    Returns
    -------
    gate : BeadGate
    valley : ValleyThreshold
        How the bead threshold was found.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> ev = {"FITC-A": np.concatenate([rng.normal(150, 60, 9000),
    ...                                 rng.lognormal(np.log(6e4), 0.05, 1000)])}
    >>> gate, _ = auto_bead_gate(ev, "FITC-A")
    >>> int(gate.contains(ev).sum())
    1000
    """
    x = np.asarray(events[bead_channel], dtype=np.float64)
    try:
        valley = valley_threshold(
            x, transform, pick="brightest", min_peak_fraction=min_peak_fraction,
            min_separation=min_separation, clip_quantiles=(0.001, 1.0),
        )
    except GatingError as exc:
        raise GatingError(f"no TruCount bead population found in {bead_channel}: {exc}") from None
    return BeadGate(name, bead_channel, valley.threshold), valley


@dataclass(frozen=True, eq=False)
class LymphocyteGateFit:
    """The automatic lymphocyte gate and how it was found.

    Parameters
    ----------
    gate : PolygonGate
        Ellipse drawn as a polygon on (FSC, SSC).
    center : numpy.ndarray
        Fitted cluster centre (FSC, SSC).
    covariance : numpy.ndarray
        Fitted 2x2 covariance (consistency-corrected).
    coverage : float
        Share of a bivariate normal cluster inside the gate.
    peak : tuple of float
        The density peak the fit started from (FSC, SSC).
    method : str
        One-line description for logs.
    """

    gate: PolygonGate
    center: np.ndarray = field(repr=False)
    covariance: np.ndarray = field(repr=False)
    coverage: float
    peak: tuple[float, float]
    method: str


def _chi2_2_quantile(q: float) -> float:
    return -2.0 * math.log1p(-q)


def _chi2_4_cdf(c: float) -> float:
    return 1.0 - math.exp(-c / 2.0) * (1.0 + c / 2.0)


def _mahalanobis2(
    x: np.ndarray, y: np.ndarray, mean: np.ndarray, cov: np.ndarray, fsc: str, ssc: str
) -> np.ndarray:
    det = cov[0, 0] * cov[1, 1] - cov[0, 1] ** 2
    if not det > 0:
        raise GatingError(f"lymphocyte cluster on {fsc}/{ssc} is degenerate")
    dx = x - mean[0]
    dy = y - mean[1]
    return (cov[1, 1] * dx * dx - 2 * cov[0, 1] * dx * dy + cov[0, 0] * dy * dy) / det


def _core_fit(
    x: np.ndarray, y: np.ndarray, mean: np.ndarray, cov: np.ndarray, c_core: float,
    factor: float, fsc: str, ssc: str,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Iterate mean/covariance of the events in the core ellipse (truncation-corrected)."""
    n_keep = 0
    for _ in range(20):
        keep = _mahalanobis2(x, y, mean, cov, fsc, ssc) <= c_core
        n_keep = int(keep.sum())
        if n_keep < 10:
            raise GatingError(f"lymphocyte cluster on {fsc}/{ssc} collapsed during the fit")
        xk, yk = x[keep], y[keep]
        new_mean = np.array([xk.mean(), yk.mean()])
        new_cov = np.cov(xk, yk) * factor
        done = np.allclose(new_mean, mean, rtol=1e-9, atol=0) and np.allclose(
            new_cov, cov, rtol=1e-9, atol=0
        )
        mean, cov = new_mean, new_cov
        if done:
            break
    return mean, cov, n_keep


def auto_lymphocyte_gate(
    events: EventSource,
    fsc: str = "FSC-A",
    ssc: str = "SSC-A",
    *,
    name: str = "lymphocytes",
    fsc_min: float = 0.0,
    coverage: float = 0.995,
    core: float = 0.9,
    bins: int = 128,
    sigma_bins: float = 1.5,
    min_peak_fraction: float = 0.1,
    n_vertices: int = 64,
    within: np.ndarray | None = None,
) -> LymphocyteGateFit:
    """Automatic lymphocyte gate on FSC/SSC.

    1. Events with ``FSC >= fsc_min`` (debris below) and, if given, in ``within``
       (e.g. "not beads") are histogrammed on a ``bins`` x ``bins`` grid between
       their 0.1 and 99.9 percentiles, smoothed (Gaussian, ``sigma_bins``).
    2. Density peaks >= ``min_peak_fraction`` of the highest are candidates;
       the lymphocytes are the one with the lowest SSC (lymphocytes scatter
       less side light than monocytes and granulocytes).
    3. Start: mean and covariance of events in that peak's half-maximum region
       (a normal's 50 % ellipse). Then 20 times: keep events within the ``core``
       (90 %) ellipse of the current fit, recompute mean and covariance, and
       divide the covariance by the truncated-normal factor
       ``F_chi2_4(c) / core`` with ``c`` the ``chi2_2`` quantile of ``core``.
    4. Gate = the ellipse holding ``coverage`` (99.5 %) of that normal, as a
       polygon with ``n_vertices`` vertices.

    Returns
    -------
    LymphocyteGateFit

    Raises
    ------
    GatingError
        Too few events or no density peak.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> lym = rng.multivariate_normal([55e3, 12e3], [[5.5e3**2, 0], [0, 2.5e3**2]], 20000)
    >>> gra = rng.multivariate_normal([100e3, 110e3], [[12e3**2, 0], [0, 20e3**2]], 20000)
    >>> xy = np.vstack([lym, gra])
    >>> fit = auto_lymphocyte_gate({"FSC-A": xy[:, 0], "SSC-A": xy[:, 1]})
    >>> inside = fit.gate.contains({"FSC-A": xy[:, 0], "SSC-A": xy[:, 1]})
    >>> bool(0.985 < inside[:20000].mean() <= 1.0), int(inside[20000:].sum())
    (True, 0)
    """
    x_all = np.asarray(events[fsc], dtype=np.float64)
    y_all = np.asarray(events[ssc], dtype=np.float64)
    use = np.isfinite(x_all) & np.isfinite(y_all) & (x_all >= fsc_min)
    if within is not None:
        use &= np.asarray(within, dtype=bool)
    x, y = x_all[use], y_all[use]
    if x.size < 100:
        raise GatingError(f"lymphocyte gate needs >= 100 events on {fsc}/{ssc}, got {x.size}")
    xr = np.quantile(x, [0.001, 0.999])
    yr = np.quantile(y, [0.001, 0.999])
    if not (xr[1] > xr[0] and yr[1] > yr[0]):
        raise GatingError(f"no spread on {fsc}/{ssc}; cannot find the lymphocytes")
    # 2-D histogram by arithmetic bin indices (np.histogram2d searches; this does not)
    fx = (x - xr[0]) * (bins / (xr[1] - xr[0]))
    fy = (y - yr[0]) * (bins / (yr[1] - yr[0]))
    in_grid = (fx >= 0) & (fx < bins) & (fy >= 0) & (fy < bins)
    ix = fx[in_grid].astype(np.intp)
    iy = fy[in_grid].astype(np.intp)
    hist = np.bincount(ix * bins + iy, minlength=bins * bins).reshape(bins, bins)
    dens = ndimage.gaussian_filter(hist.astype(np.float64), sigma_bins, mode="constant")
    local_max = (dens == ndimage.maximum_filter(dens, size=5, mode="constant")) & (
        dens >= min_peak_fraction * dens.max()
    )
    local_max &= dens > 0
    cand = np.argwhere(local_max)
    if cand.size == 0:
        raise GatingError(f"no density peak on {fsc}/{ssc}")
    # lowest SSC (column index); ties -> higher density, then lower FSC
    order = np.lexsort((cand[:, 0], -dens[cand[:, 0], cand[:, 1]], cand[:, 1]))
    pi, pj = cand[order[0]]
    peak = (
        float(xr[0] + (pi + 0.5) * (xr[1] - xr[0]) / bins),
        float(yr[0] + (pj + 0.5) * (yr[1] - yr[0]) / bins),
    )
    labels, _ = ndimage.label(dens >= 0.5 * dens[pi, pj])
    region = labels == labels[pi, pj]
    xg, yg = x[in_grid], y[in_grid]
    sel = region[ix, iy]
    if sel.sum() < 10:
        raise GatingError(f"lymphocyte peak on {fsc}/{ssc} holds fewer than 10 events")
    c_half = _chi2_2_quantile(0.5)
    mean = np.array([xg[sel].mean(), yg[sel].mean()])
    cov = np.cov(xg[sel], yg[sel]) * 0.5 / _chi2_4_cdf(c_half)
    c_core = _chi2_2_quantile(core)
    factor = core / _chi2_4_cdf(c_core)
    # iterate on the events within 6 SD of the start (fast on 1e7 events); if the final
    # core then differs on all events, iterate once more on all of them
    near = _mahalanobis2(x, y, mean, cov, fsc, ssc) <= 36.0
    for pool in ((x[near], y[near]), (x, y)):
        mean, cov, n_core = _core_fit(pool[0], pool[1], mean, cov, c_core, factor, fsc, ssc)
        if int((_mahalanobis2(x, y, mean, cov, fsc, ssc) <= c_core).sum()) == n_core:
            break
    chi2 = _chi2_2_quantile(coverage)
    gate = PolygonGate(name, fsc, ssc, ellipse_polygon(mean, cov, chi2, n_vertices))
    return LymphocyteGateFit(
        gate=gate,
        center=mean,
        covariance=cov,
        coverage=coverage,
        peak=peak,
        method=(
            f"lowest-SSC density peak on {fsc}/{ssc} (FSC >= {fsc_min:g}); normal core fit "
            f"({core:g} ellipse, truncation-corrected); gate = {coverage:g} ellipse"
        ),
    )
