"""Display/analysis scales for fluorescence data: logicle and arcsinh.

Both are frozen dataclasses with vectorised ``apply`` (data -> scale) and
``inverse`` (scale -> data) methods and handle negative (compensated) values.

Logicle parameters (Parks, Roederer & Moore 2006; Gating-ML 2.0 names):

``t``
    Top of the data scale; ``apply(t) == 1`` (262144 for an 18-bit FACSCanto).
``w``
    Width of the near-linear region around zero, in decades (0 <= w <= m/2).
``m``
    Decades of the full logarithmic scale above zero (4.5 for 18-bit data).
``a``
    Extra negative decades brought on scale (-w <= a <= m - 2w).

``apply(0) == (w + a) / (m + a)``; far above zero the scale is logarithmic with
``1/(m + a)`` per decade. ``apply`` solves ``B(y) = x`` for the biexponential
``B(y) = a*exp(b*y) - c*exp(-d*y) - f`` with Halley's method exactly as in the
reference code of Moore & Parks (2012), including its Taylor series near zero.
The start value comes from a 16384-point table of the scale on a uniform
``asinh(|x| / unit)`` grid (an asinh and one linear interpolation, no search),
good to ~3e-9, so one Halley step reaches double precision; values the table
does not cover continue in the reference loop. Agreement with flowutils (the
C reference code that FlowKit uses) is ~1e-16, at about twice its speed
(1e6 values: 62 ms vs 122 ms on the development machine). ``inverse``
evaluates ``B`` directly.

References
----------
.. [1] Parks DR, Roederer M, Moore WA. A new "Logicle" display method avoids
   deceptive effects of logarithmic scaling for low signals and compensated
   data. Cytometry A 2006;69A:541-551.
.. [2] Moore WA, Parks DR. Update for the logicle data scale including
   operational code implementations. Cytometry A 2012;81A:273-277.
.. [3] Spidlen J, et al. Gating-ML 2.0. International Society for Advancement of
   Cytometry (ISAC) standard, 2013, section 5.4.5 (Logicle) and Table 8.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple, Protocol

import numpy as np
from numpy.typing import ArrayLike

from saatrial.cytometry.errors import CytometryError

_TAYLOR_LENGTH = 16
_TABLE_SIZE = 16384
_EPS = np.finfo(np.float64).eps


class Transform(Protocol):
    """What a scale offers: data -> scale and back."""

    def apply(self, x: ArrayLike) -> np.ndarray: ...  # pragma: no cover

    def inverse(self, y: ArrayLike) -> np.ndarray: ...  # pragma: no cover


class _LogicleConstants(NamedTuple):
    a: float
    b: float
    c: float
    d: float
    f: float
    w: float
    x0: float
    x1: float
    x2: float
    x_taylor: float
    taylor: np.ndarray
    z_unit: float  # data unit of the start-value table: z = asinh(|x| / z_unit)
    z_step: float
    table: np.ndarray  # logicle scale at z = 0, z_step, 2 z_step, ...
    table_step: np.ndarray  # differences of ``table``


def _solve_d(b: float, w: float) -> float:
    """Root ``d`` of ``2*(ln d - ln b) + w*(b + d) = 0`` in ``(0, b]`` (Moore & Parks 2012)."""
    if w == 0:
        return b
    from scipy.optimize import brentq

    def f(d: float) -> float:
        return 2.0 * (np.log(d) - np.log(b)) + w * (b + d)

    # f -> -inf as d -> 0 and f(b) = 2*w*b > 0: one root in between
    return float(brentq(f, b * 1e-300, b, xtol=2 * b * _EPS, rtol=4 * _EPS, maxiter=200))


@lru_cache(maxsize=64)
def _logicle_constants(t: float, w: float, m: float, a: float) -> _LogicleConstants:
    ln10 = np.log(10.0)
    w_ = w / (m + a)
    x2 = a / (m + a)
    x1 = x2 + w_
    x0 = x2 + 2 * w_
    b = (m + a) * ln10
    d = _solve_d(b, w_)
    c_a = np.exp(x0 * (b + d))
    mf_a = np.exp(b * x1) - c_a / np.exp(d * x1)
    a_ = t / ((np.exp(b) - mf_a) - c_a / np.exp(d))
    c = c_a * a_
    f = -mf_a * a_
    x_taylor = x1 + w_ / 4
    pos = a_ * np.exp(b * x1)
    neg = -c / np.exp(d * x1)
    taylor = np.empty(_TAYLOR_LENGTH)
    for i in range(_TAYLOR_LENGTH):
        pos *= b / (i + 1)
        neg *= -d / (i + 1)
        taylor[i] = pos + neg
    taylor[1] = 0.0  # exact by the logicle condition
    # start values: the scale at data s*sinh(z) on a uniform z grid up to data 4T, so a
    # start value costs an asinh and one linear interpolation (no search)
    unit = t * 10.0 ** (w - m)
    z = np.linspace(0.0, np.arcsinh(4 * t / unit), _TABLE_SIZE)
    k = _LogicleConstants(a_, b, c, d, f, w_, x0, x1, x2, x_taylor, taylor,
                          unit, float(z[1]), np.empty(0), np.empty(0))
    data = unit * np.sinh(z[1:])
    guess = np.log(data / a_) / b
    lin = data < f
    guess[lin] = x1 + data[lin] / taylor[0]
    table = np.concatenate([[x1], _halley_solve(k, data, guess)])  # data 0 is x1 exactly
    return k._replace(table=table, table_step=np.diff(table))


def _halley_step(
    k: _LogicleConstants, value: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One Halley step for ``B(y) = value`` (value >= 0), as in Moore & Parks' ``scale()``."""
    # in-place arithmetic: this runs on every event of every transformed channel
    ae2bx = np.exp(k.b * y)
    ae2bx *= k.a
    ce2mdx = np.exp(-k.d * y)
    ce2mdx *= k.c
    fx = ae2bx + k.f  # (a e^by + f) - (c e^-dy + value): the reference code's round-off order
    fx -= ce2mdx + value
    near = y < k.x_taylor
    if np.any(near):  # near data zero the Taylor series avoids cancellation
        fx[near] = _series(k, y[near]) - value[near]
    ae2bx *= k.b  # now a b e^by
    ce2mdx *= k.d  # now c d e^-dy
    dy = ae2bx + ce2mdx
    ae2bx *= k.b
    ce2mdx *= k.d
    ae2bx -= ce2mdx  # second derivative
    # delta = fx / (dy * (1 - fx * ddy / (2 * dy * dy)))
    ae2bx *= fx
    ae2bx /= dy
    ae2bx /= dy
    ae2bx *= -0.5
    ae2bx += 1.0
    ae2bx *= dy
    delta = np.divide(fx, ae2bx, out=fx)
    return y - delta, delta


def _converged(delta: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.abs(delta) < 3 * _EPS * np.maximum(1.0, np.abs(y))


def _halley_solve(k: _LogicleConstants, value: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Halley iterations on the values not yet converged (at most 20, as the reference code)."""
    y = y.copy()
    todo = np.arange(value.size)
    for _ in range(20):
        if todo.size == 0:
            return y
        yt, delta = _halley_step(k, value[todo], y[todo])
        y[todo] = yt
        todo = todo[~_converged(delta, yt)]
    if todo.size:
        raise CytometryError(
            f"logicle: no convergence for {todo.size} values, e.g. {value[todo[0]]}"
        )
    return y


def _series(k: _LogicleConstants, scale: np.ndarray) -> np.ndarray:
    x = scale - k.x1
    s = k.taylor[_TAYLOR_LENGTH - 1] * x
    for i in range(_TAYLOR_LENGTH - 2, 1, -1):
        s = (s + k.taylor[i]) * x
    return (s * x + k.taylor[0]) * x


def _biexponential(k: _LogicleConstants, scale: np.ndarray) -> np.ndarray:
    """``B(y)`` for ``y >= x1`` (Taylor series just above ``x1``)."""
    out = (k.a * np.exp(k.b * scale) + k.f) - k.c * np.exp(-k.d * scale)
    near = scale < k.x_taylor
    if np.any(near):
        out[near] = _series(k, scale[near])
    return out


@dataclass(frozen=True)
class Logicle:
    """Logicle scale (Parks 2006) with Gating-ML parameters ``t, w, m, a``.

    Parameters
    ----------
    t : float, default 262144
        Top of scale (data value mapped to 1).
    w : float, default 0.5
        Linearisation width in decades.
    m : float, default 4.5
        Decades of the logarithmic part.
    a : float, default 0
        Additional negative decades.

    Examples
    --------
    Gating-ML 2.0, Table 8, ``Logicle(x, T=1000, W=1, M=4, A=0)``:

    >>> lg = Logicle(t=1000, w=1, m=4, a=0)
    >>> np.round(lg.apply([-10, 0, 10, 1000]), 6)
    array([0.067574, 0.25    , 0.432426, 1.      ])
    >>> np.allclose(lg.inverse(lg.apply([-10.0, 0.3, 250.0])), [-10.0, 0.3, 250.0])
    True
    """

    t: float = 262144.0
    w: float = 0.5
    m: float = 4.5
    a: float = 0.0

    def __post_init__(self) -> None:
        t, w, m, a = (float(v) for v in (self.t, self.w, self.m, self.a))
        if not t > 0:
            raise CytometryError(f"logicle: T must be > 0, got {self.t}")
        if not m > 0:
            raise CytometryError(f"logicle: M must be > 0, got {self.m}")
        if not 0 <= w <= m / 2:
            raise CytometryError(f"logicle: W must be in [0, M/2] = [0, {m / 2:g}], got {self.w}")
        if not -w <= a <= m - 2 * w:
            raise CytometryError(
                f"logicle: A must be in [-W, M - 2W] = [{-w:g}, {m - 2 * w:g}], got {self.a}"
            )

    @property
    def _k(self) -> _LogicleConstants:
        return _logicle_constants(float(self.t), float(self.w), float(self.m), float(self.a))

    @property
    def zero(self) -> float:
        """Scale value of data 0, ``(w + a) / (m + a)``."""
        return float(self._k.x1)

    def apply(self, x: ArrayLike) -> np.ndarray:
        """Data values -> logicle scale (vectorised; NaN stays NaN, +-inf stay +-inf)."""
        k = self._k
        value = np.asarray(x, dtype=np.float64)
        v = value.ravel()
        finite = np.isfinite(v)
        all_finite = bool(finite.all())
        vf = v if all_finite else v[finite]
        av = np.abs(vf)
        # start value from the table, beyond it Moore & Parks' logarithmic guess
        zf = np.arcsinh(av / k.z_unit) / k.z_step
        idx = zf.astype(np.intp)
        inside = idx < k.table.size - 1
        np.minimum(idx, k.table.size - 2, out=idx)
        y = k.table[idx] + k.table_step[idx] * (zf - idx)
        if not inside.all():
            y[~inside] = np.log(av[~inside] / k.a) / k.b
        # The table is good to ~3e-9; Halley's method is cubic, so after one step the error
        # is ~ C * delta**3 with C ~ (b + d)**2 < 1e4: below double precision whenever
        # |delta| < 1e-7. Any other value continues in the reference code's loop.
        y, delta = _halley_step(k, av, y)
        left = ~(np.abs(delta) < 1e-7)
        if left.any():
            y[left] = _halley_solve(k, av[left], y[left])
        y[av == 0] = k.x1
        neg = vf < 0
        y[neg] = 2 * k.x1 - y[neg]
        if all_finite:
            return y.reshape(value.shape)
        out = np.where(v > 0, np.inf, -np.inf)
        out[np.isnan(v)] = np.nan
        out[finite] = y
        return out.reshape(value.shape)

    def inverse(self, y: ArrayLike) -> np.ndarray:
        """Logicle scale -> data values (vectorised, exact)."""
        k = self._k
        scale = np.asarray(y, dtype=np.float64)
        s = scale.ravel()
        neg = s < k.x1
        r = np.where(neg, 2 * k.x1 - s, s)
        out = _biexponential(k, r)
        out[neg] = -out[neg]
        return out.reshape(scale.shape)


@dataclass(frozen=True)
class Arcsinh:
    """``asinh(x / cofactor)``, the usual scale for cytometry data with negatives.

    Parameters
    ----------
    cofactor : float, default 150
        Data value where the scale turns from linear (|x| << cofactor) to
        logarithmic; 150 is a common choice for conventional flow, 5 for mass cytometry.

    Examples
    --------
    >>> tr = Arcsinh(cofactor=5)
    >>> round(float(tr.apply(5 * np.sinh(2.0))), 12)
    2.0
    >>> round(float(tr.inverse(tr.apply(-123.0))), 9)
    -123.0
    """

    cofactor: float = 150.0

    def __post_init__(self) -> None:
        if not float(self.cofactor) > 0:
            raise CytometryError(f"arcsinh: cofactor must be > 0, got {self.cofactor}")

    def apply(self, x: ArrayLike) -> np.ndarray:
        """Data values -> ``asinh(x / cofactor)``."""
        return np.arcsinh(np.asarray(x, dtype=np.float64) / self.cofactor)

    def inverse(self, y: ArrayLike) -> np.ndarray:
        """``cofactor * sinh(y)``."""
        return np.sinh(np.asarray(y, dtype=np.float64)) * self.cofactor


def transform_columns(
    events: np.ndarray, columns: dict[int, Transform]
) -> np.ndarray:
    """A copy of ``events`` with the given columns (index -> transform) transformed.

    Examples
    --------
    >>> ev = np.array([[10.0, 150.0]])
    >>> transform_columns(ev, {1: Arcsinh(150)}).round(4)
    array([[10.    ,  0.8814]])
    """
    out = np.array(events, dtype=np.float64, copy=True)
    for col, tr in columns.items():
        out[:, col] = tr.apply(out[:, col])
    return out
