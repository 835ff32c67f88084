"""The counting core: raw rows -> counts per distinct time (and per code).

Every survival estimator here (Kaplan-Meier, log-rank, Aalen-Johansen) needs
the same thing: for each distinct observed time, how many rows carry each
*code* (a code packs a row's group and status); numbers at risk then follow
from cumulative sums. Three entry points:

* :func:`count_by_time` - a dense table ``counts[code, time]`` (general);
* :func:`km_counts` - what Kaplan-Meier needs (events, censorings, at risk);
* :func:`risk_sets` - what the log-rank test needs (per-group events and
  numbers at risk at the distinct *event* times only).

Why our own core instead of ``np.argsort`` as lifelines, statsmodels and
scipy use (issue 4 item 5; measured in ``benchmarks/bench_survival.py``):

* **Whole-number times** (days) are *counted*, not sorted: one
  ``np.bincount`` on ``(day - first_day) + span * code`` gives the whole table
  in linear time. This is what beats the ``np.argsort`` floor on tied
  day-level data.
* **Other times** are sorted *by value* instead of by index: the code is
  packed into spare low bits of an order-preserving 64-bit integer image of
  each time (the IEEE-754 bit pattern of a non-negative double, shifted
  left) and that ``uint64`` array is sorted in place with ``ndarray.sort``.
  On CPUs with AVX-512/AVX2, numpy >= 2 sorts 64-bit integers with a SIMD
  sort several times faster than ``np.argsort``, and no gather of companion
  arrays is needed afterwards. The packing is exact: the sign bit of a
  non-negative double is always 0, and when more than one spare bit is needed
  the times are first scaled by a power of two (exact in binary floating
  point unless it underflows, which is checked; otherwise we fall back to a
  stable ``np.argsort``).
* Per-time counts are read at run boundaries (cumulative sums, or the value
  itself for untied times) instead of a per-run loop, and the arithmetic
  reuses buffers in place: at 10 million rows, allocating (page-faulting) a
  fresh array costs about as much as the arithmetic on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Whole-number times are counted when (max - min + 1) <= max(_SPAN_FACTOR * n, _SPAN_MIN).
_SPAN_FACTOR = 4
_SPAN_MIN = 1 << 16
#: Rows per chunk on the counting path (temporaries stay in cache).
_CHUNK = 1 << 18
#: Largest number of label bits packed into the sort key (up to 64 codes).
_MAX_KEY_BITS = 6
#: Smallest positive normal double: scaled times must stay at or above it to remain exact.
_TINY = float(np.finfo(np.float64).tiny)


@dataclass(frozen=True, eq=False)
class CountTable:
    """Counts of rows per code and distinct time.

    Attributes
    ----------
    time : ndarray of float64, shape (m,)
        Distinct observed times, ascending.
    counts : ndarray of int64, shape (n_codes, m)
        ``counts[c, j]`` is the number of rows with code ``c`` and time ``time[j]``.
    method : str
        ``"count"`` (bincount on whole-number times), ``"sort"`` (packed-key
        value sort) or ``"argsort"`` (fallback); reported for tests and benchmarks.
    """

    time: NDArray[np.float64]
    counts: NDArray[np.int64]
    method: str


@dataclass(frozen=True, eq=False)
class KMCounts:
    """Per distinct time: rows at risk, events, censorings (Kaplan-Meier input)."""

    time: NDArray[np.float64]
    n_at_risk: NDArray[np.int64]
    n_events: NDArray[np.int64]
    n_censored: NDArray[np.int64]
    method: str


@dataclass(frozen=True, eq=False)
class RiskSets:
    """Numbers at risk at each distinct event time, in float64 (log-rank input).

    Attributes
    ----------
    n_at_risk : ndarray of float64, shape (J,)
        Rows with time ``>=`` each distinct event time ``t_j``.
    n_events : ndarray of float64, shape (J,)
        Events at ``t_j``.
    group_at_risk : ndarray of float64, shape (k - 1, J)
        Numbers at risk of groups 1..k-1 (group 0 is ``n_at_risk`` minus their
        sum; the log-rank test never needs it, so it is not computed).
    observed : ndarray of float64, shape (k,)
        Total events per group.
    method : str
    """

    n_at_risk: NDArray[np.float64]
    n_events: NDArray[np.float64]
    group_at_risk: NDArray[np.float64]
    observed: NDArray[np.float64]
    method: str


def _check(
    time: NDArray[np.float64], bounds: tuple[float, float] | None
) -> tuple[int, float, float]:
    n = time.shape[0]
    if n == 0:
        raise ValueError("time: empty input; at least one observation is required")
    if bounds is None:
        return n, float(time.min()), float(time.max())
    return n, bounds[0], bounds[1]


def _may_count(time: NDArray[np.float64], tmin: float, tmax: float) -> bool:
    """Cheap test whether the counting path can apply (range, first values whole)."""
    if tmax >= 2.0**53 or tmax - tmin + 1.0 > max(_SPAN_FACTOR * time.shape[0], _SPAN_MIN):
        return False  # beyond 2**53 not every whole number is a double; or range too wide
    head = time[:1024]
    return bool(np.array_equal(head, np.floor(head)))


def _count_whole(
    time: NDArray[np.float64],
    code: NDArray[np.uint8] | None,
    n_codes: int,
    tmin: float,
    tmax: float,
) -> CountTable | None:
    """Counting path: bincount of ``(time - tmin) + span * code``; no sort.

    ``None`` unless every time is a whole number and the range is small
    (``max - min + 1 <= max(4 n, 65536)``). Runs in cache-sized chunks, so no
    array of the input's size is allocated.
    """
    n = time.shape[0]
    if not _may_count(time, tmin, tmax):
        return None
    span = int(tmax - tmin + 1.0)
    offset = int(tmin)
    counts = np.zeros(span * n_codes, dtype=np.int64)
    for lo in range(0, n, _CHUNK):
        part = time[lo : lo + _CHUNK]
        index = part.astype(np.int64)
        if not np.array_equal(index, part):
            return None
        if offset:
            index -= offset
        if n_codes > 1 and code is not None:
            index += np.multiply(code[lo : lo + _CHUNK], span, dtype=np.int64)
        counts += np.bincount(index, minlength=span * n_codes)
    table = counts.reshape(n_codes, span)
    keep = table[0] > 0
    for row in table[1:]:
        keep |= row > 0
    cols = np.flatnonzero(keep)
    return CountTable(
        time=cols.astype(np.float64) + tmin,
        counts=np.ascontiguousarray(table[:, cols]),
        method="count",
    )


def _packed_sort(
    time: NDArray[np.float64],
    code: NDArray[np.uint8] | None,
    bits: int,
    tmin: float,
    tmax: float,
    high: NDArray[np.uint8] | None = None,
    high_bits: int = 0,
) -> tuple[NDArray[np.uint64], int] | None:
    """Sorted keys ``high << (64 - high_bits) | bits(time * 2**scale) << bits | code``.

    Returns the sorted ``uint64`` keys and ``scale``, or ``None`` when the
    times cannot be scaled exactly (extreme dynamic range). ``code`` is a
    minor sort key within equal times; ``high`` (optional) a major key, so the
    result is sorted by ``high``, then time, then ``code``.
    """
    spare = bits + high_bits
    scale = 0
    if spare > 1:
        # The top `spare` bits of the 64-bit pattern must be zero: the sign bit (always 0
        # for t >= 0) and the top (spare - 1) exponent bits, i.e. t < 2**limit.
        limit = 2 ** (12 - spare) - 1023
        _, exponent = np.frexp(tmax)
        scale = min(0, limit - int(exponent))
    if scale < 0:
        smallest = tmin if tmin > 0.0 else _smallest_positive(time)
        if smallest > 0.0 and float(np.ldexp(smallest, scale)) < _TINY:
            return None  # scaling would underflow into subnormals: not exact
        key = np.ldexp(time, scale).view(np.uint64)  # private copy: shift in place
        key <<= np.uint64(bits)
    else:
        key = time.view(np.uint64) << np.uint64(bits)
    if bits and code is not None:
        key |= code
    if high_bits and high is not None:
        shift = np.uint64(64 - high_bits)
        for lo in range(0, key.shape[0], _CHUNK):  # chunks: no full-size temporaries
            key[lo : lo + _CHUNK] |= high[lo : lo + _CHUNK].astype(np.uint64) << shift
    key.sort()  # SIMD value sort of uint64 (numpy >= 2); no index gather needed
    return key, scale


def _smallest_positive(time: NDArray[np.float64]) -> float:
    positive = time[time > 0.0]
    return float(positive.min()) if positive.size else 0.0


def _low_bits(key: NDArray[np.uint64], mask: int) -> NDArray[np.uint8]:
    out = np.empty(key.shape[0], dtype=np.uint8)
    np.bitwise_and(key, np.uint64(mask), out=out, casting="unsafe")
    return out


def _run_starts(values: NDArray[Any]) -> NDArray[np.intp]:
    """Indices where a sorted array starts a new run of equal values."""
    new = np.empty(values.shape[0], dtype=bool)
    new[0] = True
    np.not_equal(values[1:], values[:-1], out=new[1:])
    return np.flatnonzero(new)


def _unscale(time_bits: NDArray[np.uint64], scale: int) -> NDArray[np.float64]:
    """Times from (scaled) bit patterns; overwrites ``time_bits``."""
    times = time_bits.view(np.float64)
    if scale:
        np.ldexp(times, -scale, out=times)
    return times


def count_by_time(
    time: NDArray[np.float64],
    code: NDArray[np.uint8] | None,
    n_codes: int,
    bounds: tuple[float, float] | None = None,
) -> CountTable:
    """Tabulate rows by code and distinct time.

    Parameters
    ----------
    time : ndarray of float64
        Checked times (finite, ``>= 0``, no ``-0.0``), non-empty.
    code : ndarray of uint8, or None
        Code of each row in ``0 .. n_codes - 1``; ``None`` means all zero.
    n_codes : int
        Number of codes, 1..256.
    bounds : (float, float), optional
        ``(time.min(), time.max())`` if already known.

    Returns
    -------
    CountTable
    """
    n, tmin, tmax = _check(time, bounds)
    if not 1 <= n_codes <= 256:
        raise ValueError(f"n_codes: must be in 1..256: {n_codes}")
    table = _count_whole(time, code, n_codes, tmin, tmax)
    if table is not None:
        return table
    bits = (n_codes - 1).bit_length() if n_codes > 1 else 0
    packed = _packed_sort(time, code, bits, tmin, tmax) if bits <= _MAX_KEY_BITS else None
    if packed is not None:
        key, scale = packed
        codes = _low_bits(key, (1 << bits) - 1) if bits else None
        key >>= np.uint64(bits)
        starts = _run_starts(key)  # equal bit patterns <=> equal times
        times = _unscale(key[starts], scale)
        method = "sort"
    else:
        order = np.argsort(time, kind="stable")
        sorted_time = time[order]
        codes = None if code is None else code[order]
        starts = _run_starts(sorted_time)
        times = sorted_time[starts]
        method = "argsort"
    counts = np.zeros((n_codes, starts.shape[0]), dtype=np.int64)
    if codes is None or n_codes == 1:
        counts[0] = np.diff(starts, append=n)
    else:
        for c in range(n_codes):
            counts[c] = np.add.reduceat((codes == c).view(np.uint8), starts, dtype=np.int64)
    return CountTable(time=np.ascontiguousarray(times), counts=counts, method=method)


def km_counts(
    time: NDArray[np.float64],
    event: NDArray[np.bool_],
    bounds: tuple[float, float] | None = None,
) -> KMCounts:
    """Events, censorings and numbers at risk at each distinct time.

    Parameters
    ----------
    time : ndarray of float64
        Checked times, non-empty.
    event : ndarray of bool
    bounds : (float, float), optional
        ``(time.min(), time.max())`` if already known.

    Returns
    -------
    KMCounts
    """
    n, tmin, tmax = _check(time, bounds)
    table = _count_whole(time, event.view(np.uint8), 2, tmin, tmax)
    if table is not None:
        n_events = table.counts[1]
        n_censored = table.counts[0]
        n_at_risk = n - np.cumsum(n_events + n_censored)
        n_at_risk += n_events
        n_at_risk += n_censored
        return KMCounts(table.time, n_at_risk, n_events, n_censored, "count")
    packed = _packed_sort(time, event.view(np.uint8), 1, tmin, tmax)  # 1 bit: never None
    assert packed is not None
    return _km_from_sorted(packed[0], packed[1])


def _km_from_sorted(key: NDArray[np.uint64], scale: int) -> KMCounts:
    """KMCounts from sorted keys ``bits(time * 2**scale) << 1 | event`` (used in place)."""
    n = key.shape[0]
    events = _low_bits(key, 1)
    key >>= np.uint64(1)
    starts = _run_starts(key)
    m = starts.shape[0]
    run_length = np.empty(m, dtype=np.int64)
    np.subtract(starts[1:], starts[:-1], out=run_length[:-1])
    run_length[-1] = n - starts[-1]
    n_events = _run_sums(events, starts, run_length)
    n_censored = np.subtract(run_length, n_events, out=run_length)
    times = _unscale(key[starts], scale)
    n_at_risk = np.subtract(n, starts, out=starts)
    return KMCounts(times, n_at_risk.astype(np.int64, copy=False), n_events, n_censored, "sort")


def km_counts_by_group(
    time: NDArray[np.float64],
    event: NDArray[np.bool_],
    group: NDArray[np.uint8],
    k: int,
    bounds: tuple[float, float] | None = None,
) -> list[KMCounts]:
    """:func:`km_counts` for each group ``0..k-1`` from one bincount or one sort.

    On the sort path the group goes into the top bits of the key, so the sorted
    keys are the groups' sorted keys one after the other: no boolean masks and
    no per-group sorts.

    Parameters
    ----------
    time, event : ndarray
        Checked times and event indicators.
    group : ndarray of uint8
        Group code ``0..k-1`` of each row; every code occurs.
    k : int
        Number of groups, 1..128.
    bounds : (float, float), optional
        ``(time.min(), time.max())`` if already known.

    Returns
    -------
    list of KMCounts
        One per group, in code order.
    """
    n, tmin, tmax = _check(time, bounds)
    if not 1 <= k <= 128:
        raise ValueError(f"k: must be in 1..128: {k}")
    if k == 1:
        return [km_counts(time, event, (tmin, tmax))]
    if _may_count(time, tmin, tmax):
        code = group << np.uint8(1)
        code |= event.view(np.uint8)
        table = _count_whole(time, code, 2 * k, tmin, tmax)
        if table is not None:
            out = []
            for g in range(k):
                total = table.counts[2 * g] + table.counts[2 * g + 1]
                keep = np.flatnonzero(total)
                total = total[keep]
                at_risk = int(total.sum()) - np.cumsum(total) + total
                out.append(
                    KMCounts(
                        table.time[keep],
                        at_risk,
                        table.counts[2 * g + 1][keep],
                        table.counts[2 * g][keep],
                        "count",
                    )
                )
            return out
    high_bits = (k - 1).bit_length()
    packed = None
    if high_bits + 1 <= _MAX_KEY_BITS:
        packed = _packed_sort(time, event.view(np.uint8), 1, tmin, tmax, group, high_bits)
    if packed is None:
        return [km_counts(time[group == g], event[group == g]) for g in range(k)]
    key, scale = packed
    shift = 64 - high_bits
    low = np.uint64((1 << shift) - 1)
    ends = np.searchsorted(key, np.arange(1, k, dtype=np.uint64) << np.uint64(shift))
    out = []
    for g, (lo, hi) in enumerate(zip(np.r_[0, ends], np.r_[ends, n], strict=True)):
        part = key[lo:hi]
        if g:
            part &= low  # clear the group bits, in place
        out.append(_km_from_sorted(part, scale))
    return out


def _run_sums(
    values: NDArray[np.uint8], starts: NDArray[np.intp], run_length: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Sum of ``values`` over each run ``[starts[j], starts[j] + run_length[j])``.

    Runs of length 1 (almost all of them for continuous times) are read
    directly; only tied runs are summed, with one ``reduceat`` over
    (run start, run end) pairs, so the per-segment overhead of ``reduceat``
    is paid for tied runs only.
    """
    sums = values[starts].astype(np.int64)
    tied = np.flatnonzero(run_length > 1)
    if tied.size == 0:
        return sums
    if tied.size * 4 > starts.shape[0]:  # heavily tied: plain reduceat is as good
        return np.add.reduceat(values, starts, dtype=np.int64)
    lo = starts[tied]
    hi = lo + run_length[tied]
    padded = np.append(values, np.uint8(0)) if hi[-1] == values.shape[0] else values
    bounds = np.empty(2 * tied.size, dtype=np.intp)
    bounds[0::2] = lo
    bounds[1::2] = hi
    sums[tied] = np.add.reduceat(padded, bounds, dtype=np.int64)[0::2]
    return sums


def risk_sets(
    time: NDArray[np.float64],
    event: NDArray[np.bool_],
    group: NDArray[np.uint8],
    k: int,
    bounds: tuple[float, float] | None = None,
) -> RiskSets:
    """Numbers at risk (overall and per group) at each distinct event time.

    Parameters
    ----------
    time : ndarray of float64
        Checked times, non-empty.
    event : ndarray of bool
    group : ndarray of uint8
        Group code ``0..k-1`` of each row.
    k : int
        Number of groups, 1..128.
    bounds : (float, float), optional
        ``(time.min(), time.max())`` if already known.

    Returns
    -------
    RiskSets
        Empty (J = 0) when there are no events.
    """
    n, tmin, tmax = _check(time, bounds)
    if not 1 <= k <= 128:
        raise ValueError(f"k: must be in 1..128: {k}")
    gbits = max(1, (k - 1).bit_length())
    plain = None
    if _may_count(time, tmin, tmax):
        plain = group << np.uint8(1)
        plain |= event.view(np.uint8)  # code = 2 * group + event for the table paths
        table = _count_whole(time, plain, 2 * k, tmin, tmax)
        if table is not None:
            return _risk_sets_from_table(table.counts, k, table.method)
    packed = None
    if gbits + 1 <= _MAX_KEY_BITS:
        # code = group | censored << gbits: within a time, events sort before censorings
        code = (~event).view(np.uint8) << np.uint8(gbits)
        code |= group
        packed = _packed_sort(time, code, gbits + 1, tmin, tmax)
    if packed is None:
        if plain is None:
            plain = group << np.uint8(1)
            plain |= event.view(np.uint8)
        table = count_by_time(time, plain, 2 * k, (tmin, tmax))
        return _risk_sets_from_table(table.counts, k, table.method)

    key = packed[0]
    is_event = _low_bits(key, 1 << gbits)
    np.equal(is_event, 0, out=is_event.view(bool))  # censored bit clear -> event, in place
    in_group = _low_bits(key, (1 << gbits) - 1)
    key >>= np.uint64(gbits + 1)
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    running = key.view(np.int64)  # the keys are no longer needed: reuse their memory
    # Events sort first within a time, so the first row of a run of equal times is
    # an event exactly when that time is an event time.
    event_rows = np.flatnonzero(is_event)
    rank = np.flatnonzero(first[event_rows])  # index among event rows of each t_j's first event
    del first
    starts = event_rows[rank]  # first row of each distinct event time
    n_j = starts.shape[0]
    n_at_risk = np.subtract(float(n), starts)
    n_events = np.empty(n_j, dtype=np.float64)
    np.subtract(rank[1:], rank[:-1], out=n_events[:-1])
    if n_j:
        n_events[-1] = event_rows.shape[0] - rank[-1]
    group_at_risk = np.empty((k - 1, n_j), dtype=np.float64)
    observed = np.empty(k, dtype=np.float64)
    for g in range(1, k):
        member = in_group if k == 2 else np.equal(in_group, g).view(np.uint8)
        np.cumsum(member, dtype=np.int64, out=running)  # group rows up to and including each row
        size = int(running[-1])
        # rows of group g at or after s_j = size - running[s_j] + member[s_j]
        at_risk = group_at_risk[g - 1]
        np.subtract(size, np.take(running, starts, out=rank), out=at_risk)  # rank: reused
        at_risk += member[starts]
        observed[g] = np.count_nonzero(member[event_rows])
    observed[0] = event_rows.shape[0] - observed[1:].sum()
    return RiskSets(n_at_risk, n_events, group_at_risk, observed, "sort")


def _risk_sets_from_table(counts: NDArray[np.int64], k: int, method: str) -> RiskSets:
    """RiskSets from a table with code = 2 * group + event."""
    events = counts[1::2]
    total = counts[0::2] + events
    all_events = events.sum(axis=0)
    rows = np.flatnonzero(all_events)
    before = np.cumsum(total, axis=1)
    before -= total
    at_risk = (total.sum(axis=1)[:, None] - before[:, rows]).astype(np.float64)
    return RiskSets(
        n_at_risk=at_risk.sum(axis=0),
        n_events=all_events[rows].astype(np.float64),
        group_at_risk=np.ascontiguousarray(at_risk[1:]),
        observed=events.sum(axis=1).astype(np.float64),
        method=method,
    )
