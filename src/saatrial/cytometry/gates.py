"""Gates: small frozen dataclasses that select events, and the record of applying them.

Every gate names its channels (``$PnN``) and has ``contains(events) -> bool
mask``; ``events`` is anything that returns a channel's values for
``events[name]`` (an :class:`~saatrial.cytometry.fcs.FcsSample`, a pandas
DataFrame, a dict of arrays). ``gate.apply(events, parent)`` also counts the
events in and out and returns a :class:`GateResult`.

Boundaries follow Gating-ML 2.0 rectangle gates unless a gate says otherwise:
a range includes its lower bound and excludes its upper bound
(``low <= x < high``). :meth:`RangeGate.above` and :meth:`RangeGate.below`
are strict (``x > t``, ``x < t``): "positive = above the isotype's 99.5th
percentile" (TRIAL.md D19).

References
----------
.. [1] Spidlen J, et al. Gating-ML 2.0. ISAC standard, 2013 (RectangleGate,
   PolygonGate, QuadrantGate, BooleanGate).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from saatrial.cytometry.errors import CytometryError


class EventSource(Protocol):
    """Anything that returns one channel's values for ``events[name]``."""

    def __getitem__(self, name: str, /) -> Any: ...  # pragma: no cover


def _column(events: EventSource, name: str) -> np.ndarray:
    try:
        values = events[name]
    except KeyError:
        raise CytometryError(f"gate channel {name!r} not in the events") from None
    return np.asarray(values, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class GateResult:
    """A gate applied to events: which events, how many, out of how many.

    Parameters
    ----------
    name : str
        Gate (population) name, e.g. ``"lymphocytes"``.
    gate : Gate
        The gate object (its channels and parameters).
    parent : str or None
        Name of the parent population (None for all events).
    n_parent : int
        Events entering the gate.
    n_in : int
        Events inside (and inside the parent).
    mask : numpy.ndarray
        Boolean mask over **all** events of the sample: in the parent and in the gate.
    """

    name: str
    gate: Gate
    parent: str | None
    n_parent: int
    n_in: int
    mask: np.ndarray = field(repr=False)

    @property
    def n_out(self) -> int:
        """Parent events outside the gate."""
        return self.n_parent - self.n_in

    @property
    def pct_of_parent(self) -> float:
        """``100 * n_in / n_parent`` (NaN when the parent is empty)."""
        return 100.0 * self.n_in / self.n_parent if self.n_parent else float("nan")

    def summary(self) -> dict[str, Any]:
        """Plain-type summary (for logs and JSON): name, parent, channels, parameters, counts."""
        return {
            "name": self.name,
            "parent": self.parent,
            "type": type(self.gate).__name__,
            "channels": list(self.gate.channels),
            "parameters": self.gate.parameters(),
            "n_parent": self.n_parent,
            "n_in": self.n_in,
            "n_out": self.n_out,
        }


class _GateBase:
    """``apply`` shared by all gates (they define ``name``, ``channels``, ``contains``)."""

    name: str

    @property
    def channels(self) -> tuple[str, ...]:  # pragma: no cover - overridden
        raise NotImplementedError

    def contains(self, events: EventSource) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def parameters(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def apply(self, events: EventSource, parent: GateResult | None = None) -> GateResult:
        """Gate ``events`` (within ``parent``, if given) and count.

        Examples
        --------
        >>> ev = {"CD4": np.array([1.0, 5.0, 9.0])}
        >>> r = RangeGate.above("CD4+", "CD4", 4.0).apply(ev)
        >>> r.n_parent, r.n_in, r.n_out, r.mask.tolist()
        (3, 2, 1, [False, True, True])
        """
        inside = np.asarray(self.contains(events), dtype=bool)
        if parent is None:
            mask, n_parent, parent_name = inside, int(inside.size), None
        else:
            if parent.mask.shape != inside.shape:
                raise CytometryError(
                    f"gate {self.name!r}: parent {parent.name!r} has {parent.mask.size} events, "
                    f"these events {inside.size}"
                )
            mask, n_parent, parent_name = inside & parent.mask, parent.n_in, parent.name
        return GateResult(self.name, self, parent_name, n_parent, int(mask.sum()), mask)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RangeGate(_GateBase):
    """1-D range or threshold gate on one channel.

    Parameters
    ----------
    name : str
        Population name.
    channel : str
        ``$PnN`` of the channel.
    low, high : float or None
        Bounds; None = unbounded on that side.
    closed : {"left", "right", "both", "neither"}, default "left"
        Which bounds are included; "left" is Gating-ML's ``low <= x < high``.

    Examples
    --------
    >>> ev = {"PE-A": np.array([99.0, 100.0, 100.5, 200.0])}
    >>> RangeGate("r", "PE-A", 100.0, 200.0).contains(ev).tolist()
    [False, True, True, False]
    >>> RangeGate.above("CD25+", "PE-A", 100.0).contains(ev).tolist()
    [False, False, True, True]
    >>> RangeGate.below("CD127dim", "PE-A", 100.0).contains(ev).tolist()
    [True, False, False, False]
    """

    name: str
    channel: str
    low: float | None = None
    high: float | None = None
    closed: Literal["left", "right", "both", "neither"] = "left"

    def __post_init__(self) -> None:
        if self.low is None and self.high is None:
            raise CytometryError(f"range gate {self.name!r}: give low, high or both")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise CytometryError(f"range gate {self.name!r}: low {self.low} > high {self.high}")
        if self.closed not in ("left", "right", "both", "neither"):
            raise CytometryError(f"range gate {self.name!r}: closed={self.closed!r} unknown")

    @classmethod
    def above(cls, name: str, channel: str, threshold: float) -> RangeGate:
        """Events strictly above ``threshold`` (``x > threshold``)."""
        return cls(name, channel, low=float(threshold), high=None, closed="neither")

    @classmethod
    def below(cls, name: str, channel: str, threshold: float) -> RangeGate:
        """Events strictly below ``threshold`` (``x < threshold``)."""
        return cls(name, channel, low=None, high=float(threshold), closed="neither")

    @property
    def channels(self) -> tuple[str, ...]:
        return (self.channel,)

    def parameters(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "closed": self.closed}

    def contains(self, events: EventSource) -> np.ndarray:
        x = _column(events, self.channel)
        out = np.ones(x.shape, dtype=bool)
        if self.low is not None:
            out &= (x >= self.low) if self.closed in ("left", "both") else (x > self.low)
        if self.high is not None:
            out &= (x <= self.high) if self.closed in ("right", "both") else (x < self.high)
        return out


@dataclass(frozen=True)
class PolygonGate(_GateBase):
    """2-D polygon gate (e.g. lymphocytes on FSC-A/SSC-A).

    Inside is decided by the even-odd rule (matplotlib's ``Path.contains_points``,
    vectorised C++); events exactly on an edge may fall on either side.

    Parameters
    ----------
    name : str
        Population name.
    x_channel, y_channel : str
        ``$PnN`` of the two channels.
    vertices : tuple of (x, y)
        At least three vertices; the polygon is closed automatically.

    Examples
    --------
    An L-shaped (concave) polygon; (3, 3) lies in the notch, outside:

    >>> g = PolygonGate("L", "FSC-A", "SSC-A", ((0, 0), (4, 0), (4, 2), (2, 2), (2, 4), (0, 4)))
    >>> ev = {"FSC-A": np.array([1.0, 3.0, 3.0, 5.0]), "SSC-A": np.array([1.0, 1.0, 3.0, 1.0])}
    >>> g.contains(ev).tolist()
    [True, True, False, False]
    """

    name: str
    x_channel: str
    y_channel: str
    vertices: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        verts = tuple((float(x), float(y)) for x, y in self.vertices)
        if len(verts) < 3:
            raise CytometryError(
                f"polygon gate {self.name!r}: needs >= 3 vertices, got {len(verts)}"
            )
        if not np.all(np.isfinite(np.array(verts))):
            raise CytometryError(f"polygon gate {self.name!r}: non-finite vertex")
        object.__setattr__(self, "vertices", verts)

    @property
    def channels(self) -> tuple[str, ...]:
        return (self.x_channel, self.y_channel)

    def parameters(self) -> dict[str, Any]:
        return {"vertices": [list(v) for v in self.vertices]}

    def contains(self, events: EventSource) -> np.ndarray:
        from matplotlib.path import Path as MplPath

        x = _column(events, self.x_channel)
        y = _column(events, self.y_channel)
        v = np.array(self.vertices)
        out = np.zeros(x.shape, dtype=bool)
        # bounding box first: contains_points only for events that can be inside
        (x0, y0), (x1, y1) = v.min(axis=0), v.max(axis=0)
        box = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        idx = np.flatnonzero(box)
        if idx.size:
            path = MplPath(np.vstack([v, v[:1]]), closed=True)
            out[idx] = path.contains_points(np.column_stack([x[idx], y[idx]]))
        return out


Quadrant = Literal["++", "+-", "-+", "--"]


@dataclass(frozen=True)
class QuadrantGate(_GateBase):
    """One quadrant of a 2-D split at ``(x_split, y_split)``.

    ``"+"`` means ``>= split`` and ``"-"`` means ``< split`` (Gating-ML: a value on a
    divider belongs to the upper side); ``quadrant`` is x sign then y sign, so
    ``"+-"`` is x-high, y-low (e.g. CD25+ CD127- with x = CD25, y = CD127).

    Examples
    --------
    >>> ev = {"x": np.array([1.0, 1.0, 3.0, 3.0, 2.0]), "y": np.array([1.0, 3.0, 1.0, 3.0, 2.0])}
    >>> QuadrantGate("q", "x", "y", 2.0, 2.0, "+-").contains(ev).tolist()
    [False, False, True, False, False]
    >>> {q: m.tolist() for q, m in QuadrantGate("q", "x", "y", 2.0, 2.0).masks(ev).items()}["++"]
    [False, False, False, True, True]
    """

    name: str
    x_channel: str
    y_channel: str
    x_split: float
    y_split: float
    quadrant: Quadrant = "++"

    def __post_init__(self) -> None:
        if self.quadrant not in ("++", "+-", "-+", "--"):
            raise CytometryError(f"quadrant gate {self.name!r}: quadrant {self.quadrant!r} unknown")

    @property
    def channels(self) -> tuple[str, ...]:
        return (self.x_channel, self.y_channel)

    def parameters(self) -> dict[str, Any]:
        return {"x_split": self.x_split, "y_split": self.y_split, "quadrant": self.quadrant}

    def masks(self, events: EventSource) -> dict[str, np.ndarray]:
        """All four quadrant masks, keyed ``"++"``, ``"+-"``, ``"-+"``, ``"--"``."""
        xp = _column(events, self.x_channel) >= self.x_split
        yp = _column(events, self.y_channel) >= self.y_split
        return {"++": xp & yp, "+-": xp & ~yp, "-+": ~xp & yp, "--": ~xp & ~yp}

    def contains(self, events: EventSource) -> np.ndarray:
        return self.masks(events)[self.quadrant]


@dataclass(frozen=True)
class BeadGate(_GateBase):
    """TruCount bead gate: bright on the bead channel (and, optionally, low FSC).

    Counting beads fluoresce in every detector; a detector the panel leaves
    unstained (FITC in the Treg panel) shows them far above all cells.
    Inside = ``bead_channel >= bead_min`` and, if given, ``fsc_channel < fsc_max``.

    Examples
    --------
    >>> ev = {"FITC-A": np.array([50.0, 5e4, 6e4]), "FSC-A": np.array([5e4, 2e4, 9e4])}
    >>> BeadGate("beads", "FITC-A", 1e4).contains(ev).tolist()
    [False, True, True]
    >>> BeadGate("beads", "FITC-A", 1e4, "FSC-A", 5e4).contains(ev).tolist()
    [False, True, False]
    """

    name: str
    bead_channel: str
    bead_min: float
    fsc_channel: str | None = None
    fsc_max: float | None = None

    def __post_init__(self) -> None:
        if (self.fsc_channel is None) != (self.fsc_max is None):
            raise CytometryError(f"bead gate {self.name!r}: give both fsc_channel and fsc_max")

    @property
    def channels(self) -> tuple[str, ...]:
        return (self.bead_channel,) + ((self.fsc_channel,) if self.fsc_channel else ())

    def parameters(self) -> dict[str, Any]:
        return {"bead_min": self.bead_min, "fsc_max": self.fsc_max}

    def contains(self, events: EventSource) -> np.ndarray:
        out = _column(events, self.bead_channel) >= self.bead_min
        if self.fsc_channel is not None and self.fsc_max is not None:
            out &= _column(events, self.fsc_channel) < self.fsc_max
        return out


@dataclass(frozen=True)
class NotGate(_GateBase):
    """Events outside another gate (e.g. "not beads"); Gating-ML's BooleanGate ``not``.

    Examples
    --------
    >>> ev = {"FITC-A": np.array([50.0, 5e4])}
    >>> NotGate("cells", BeadGate("beads", "FITC-A", 1e4)).contains(ev).tolist()
    [True, False]
    """

    name: str
    gate: RangeGate | PolygonGate | QuadrantGate | BeadGate

    @property
    def channels(self) -> tuple[str, ...]:
        return self.gate.channels

    def parameters(self) -> dict[str, Any]:
        return {"not": self.gate.name}

    def contains(self, events: EventSource) -> np.ndarray:
        return ~self.gate.contains(events)


Gate = RangeGate | PolygonGate | QuadrantGate | BeadGate | NotGate


def ellipse_polygon(
    center: Sequence[float] | np.ndarray, covariance: np.ndarray, chi2: float,
    n_vertices: int = 64,
) -> tuple[tuple[float, float], ...]:
    """Vertices of the ellipse ``(z - c)' inv(S) (z - c) = chi2`` (for a polygon gate).

    Examples
    --------
    >>> v = ellipse_polygon([0, 0], np.eye(2), 4.0, n_vertices=4)
    >>> np.round(np.array(v), 6).tolist()
    [[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [-0.0, -2.0]]
    """
    chol = np.linalg.cholesky(np.asarray(covariance, dtype=np.float64))
    theta = np.linspace(0.0, 2 * np.pi, n_vertices, endpoint=False)
    circle = np.vstack([np.cos(theta), np.sin(theta)]) * np.sqrt(chi2)
    pts = (chol @ circle).T + np.asarray(center, dtype=np.float64)
    return tuple((float(x), float(y)) for x, y in pts)
