"""The counting core: counting, packed value sort and argsort paths give the same tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saatrial.stats._survival_input import as_labels, as_time
from saatrial.stats._survival_table import count_by_time, km_counts, risk_sets


def naive_table(time: np.ndarray, code: np.ndarray, n_codes: int):
    times = np.unique(time)
    counts = np.array([[np.sum((time == t) & (code == c)) for t in times] for c in range(n_codes)])
    return times, counts


def naive_risk_sets(time: np.ndarray, event: np.ndarray, group: np.ndarray, k: int):
    event_times = np.unique(time[event])
    n_at_risk = np.array([np.sum(time >= t) for t in event_times], dtype=float)
    n_events = np.array([np.sum((time == t) & event) for t in event_times], dtype=float)
    groups = np.array(
        [[np.sum((time >= t) & (group == g)) for t in event_times] for g in range(1, k)],
        dtype=float,
    ).reshape(k - 1, -1)
    observed = np.array([np.sum(event & (group == g)) for g in range(k)], dtype=float)
    return n_at_risk, n_events, groups, observed


rows = st.lists(
    st.tuples(st.integers(0, 9), st.booleans(), st.integers(0, 3)), min_size=1, max_size=50
)


@settings(max_examples=80, deadline=None)
@given(rows, st.sampled_from([1.0, 0.1, 1e-5, 1e250]), st.integers(2, 4))
def test_risk_sets_match_naive_on_every_path(data, scale, k) -> None:
    time = np.array([r[0] for r in data], dtype=float) * scale
    event = np.array([r[1] for r in data])
    group = (np.array([r[2] for r in data]) % k).astype(np.uint8)
    got = risk_sets(time, event, group, k)
    n_at_risk, n_events, groups, observed = naive_risk_sets(time, event, group, k)
    np.testing.assert_array_equal(got.n_at_risk, n_at_risk)
    np.testing.assert_array_equal(got.n_events, n_events)
    np.testing.assert_array_equal(got.group_at_risk, groups)
    np.testing.assert_array_equal(got.observed, observed)


@settings(max_examples=80, deadline=None)
@given(rows, st.sampled_from([1.0, 0.1, 1e-5]))
def test_count_by_time_and_km_counts_match_naive(data, scale) -> None:
    time = np.array([r[0] for r in data], dtype=float) * scale
    code = np.array([r[2] for r in data], dtype=np.uint8)
    table = count_by_time(time, code, 4)
    times, counts = naive_table(time, code, 4)
    np.testing.assert_array_equal(table.time, times)
    np.testing.assert_array_equal(table.counts, counts)
    event = code % 2 == 1
    km = km_counts(time, event)
    np.testing.assert_array_equal(km.time, times)
    np.testing.assert_array_equal(km.n_events, [np.sum((time == t) & event) for t in times])
    np.testing.assert_array_equal(km.n_censored, [np.sum((time == t) & ~event) for t in times])
    np.testing.assert_array_equal(km.n_at_risk, [np.sum(time >= t) for t in times])


def test_paths_are_chosen_as_documented() -> None:
    rng = np.random.default_rng(0)
    days = rng.integers(0, 3650, 5000).astype(float)
    event = rng.random(5000) < 0.5
    group = rng.integers(0, 2, 5000).astype(np.uint8)
    assert km_counts(days, event).method == "count"
    assert risk_sets(days, event, group, 2).method == "count"
    assert km_counts(days + 0.5, event).method == "sort"
    assert risk_sets(days + 0.5, event, group, 2).method == "sort"
    # whole numbers but a range far wider than 4 n: sorted, not counted
    assert km_counts(days * 1000, event).method == "sort"
    # scaling 1e300 down to below 2 would push 1e-300 into subnormals: argsort
    extreme = np.array([1e-300, 1e300, 5.0, 7.0])
    assert risk_sets(extreme, np.ones(4, bool), np.array([0, 1, 0, 1], np.uint8), 2).method == (
        "argsort"
    )
    # 65 codes need 7 key bits: argsort
    code = (np.arange(130) % 65).astype(np.uint8)
    assert count_by_time(np.arange(130) * 0.25 + 0.1, code, 65).method == "argsort"


def test_packed_keys_keep_neighbouring_doubles_apart() -> None:
    # scaling by a power of two is exact: times one ulp apart stay distinct
    base = 1234.5678
    time = np.array([base, np.nextafter(base, np.inf), base, np.nextafter(base, 0.0)])
    got = risk_sets(time, np.ones(4, bool), np.array([0, 1, 0, 1], np.uint8), 2)
    assert got.method == "sort"
    np.testing.assert_array_equal(got.n_at_risk, [4, 3, 1])
    np.testing.assert_array_equal(got.n_events, [1, 2, 1])


def test_negative_zero_is_zero() -> None:
    time = as_time([0.0, -0.0, 1.5])
    assert not np.signbit(time).any()
    table = count_by_time(time * 1.0, None, 1)
    np.testing.assert_array_equal(table.counts, [[2, 1]])


def test_labels_are_coded_in_sorted_order() -> None:
    assert as_labels(np.array([True, False, True]), 3, name="g").levels == (False, True)
    lab = as_labels(np.array([10, 30, 10, 50]), 4, name="g")  # gaps: lookup table
    assert lab.levels == (10, 30, 50) and lab.codes.tolist() == [0, 1, 0, 2]
    lab = as_labels(["b", "a", "c", "a"], 4, name="g")
    assert lab.levels == ("a", "b", "c") and lab.codes.tolist() == [1, 0, 2, 0]
    lab = as_labels(pd.Series([2.5, 1.0, 2.5]), 3, name="g")
    assert lab.levels == (1.0, 2.5) and lab.codes.tolist() == [1, 0, 1]
    lab = as_labels(np.array([-3, -1, -3], dtype=np.int8), 3, name="g")
    assert lab.levels == (-3, -1) and lab.codes.tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match=r"g\[1\]: must not be missing"):
        as_labels(pd.Series(["a", None]), 2, name="g")


def test_sparse_ties_on_the_sort_path() -> None:
    # mostly distinct times with a few tied runs: adjacent tied runs and a tie at the
    # very end exercise the (start, end) pairs given to reduceat in _run_sums
    rng = np.random.default_rng(9)
    time = rng.permutation(np.arange(200) * 0.37 + 0.01)
    largest = time.max()
    time[:7] = [5.555, 5.555, 5.556, 5.556, largest, largest, largest]
    event = rng.random(200) < 0.5
    event[[4, 5]] = [True, False]
    got = km_counts(time, event)
    assert got.method == "sort"
    times = np.unique(time)
    tied = np.flatnonzero(np.diff(got.n_at_risk, append=0) < -1)
    assert len(tied) == 3 and tied[-1] == len(times) - 1  # adjacent runs + one at the end
    assert tied[1] == tied[0] + 1
    np.testing.assert_array_equal(got.time, times)
    np.testing.assert_array_equal(got.n_events, [np.sum((time == t) & event) for t in times])
    np.testing.assert_array_equal(got.n_censored, [np.sum((time == t) & ~event) for t in times])
