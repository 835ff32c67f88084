"""A short run of the eCRF load test (benchmarks/bench_edc_load.py): correctness, not speed.

5 users x 5 s against ``saatrial serve`` (gunicorn, a fresh SQLite data
directory) on 127.0.0.1: no request fails, every acknowledged save is in the
database and in the audit trail, and ``saatrial audit verify`` finds the chain
intact. A negative control shows the write check does catch an acknowledged
save that is not there.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_edc_load.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_edc_load", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_edc_load", module)
    spec.loader.exec_module(module)
    return module


bench = _bench()


@pytest.fixture(scope="module")
def short_run():
    """Set up, serve, load (5 users x 5 s, think 0.2 s), stop; keep the data for the checks."""
    with tempfile.TemporaryDirectory(prefix="saatrial-load-smoke-") as tmp:
        data = Path(tmp)
        names = [f"load{n:02d}" for n in range(5)]
        bench.prepare_data_dir(data, [(name, "coordinator", bench.SITE) for name in names])
        with bench.running_server(data, workers=2, threads=2) as server:
            result = bench.run_load(server.port, users=5, seconds=5.0, think_s=0.2)
            assert server.process.poll() is None  # still serving at the end of the run
        assert server.process.returncode is not None  # stopped
        check = bench.check_writes(data, result.acks, names)
        yield data, names, result, check


def test_no_request_failed_and_everyone_saved(short_run):
    _, _, result, _ = short_run
    assert bench.errors_of(result) == []
    assert result.logged_in == 5
    kinds = {t.kind for t in result.log}
    assert {"save: new subject", "save: new lab", "save: lab correction"} <= kinds
    for acks in result.acks:
        assert len(acks.subjects) == 1 and acks.lab_creates and acks.lab_edits


def test_every_acknowledged_save_is_in_the_database_and_the_audit_trail(short_run):
    _, _, result, check = short_run
    saves = sum(len(a.subjects) + len(a.lab_creates) + len(a.lab_edits) for a in result.acks)
    assert check.acknowledged == saves > 15
    assert check.lost == []
    assert check.in_database == check.in_audit == saves
    assert check.unacknowledged == 0
    assert check.audit_ok and "chain intact" in check.audit_verify


def test_the_check_catches_a_save_that_is_not_there(short_run):
    """Negative control: acknowledgements the server never gave are reported lost."""
    data, names, result, _ = short_run
    acks = [dataclasses.replace(a) for a in result.acks]
    first = acks[0]
    pk = first.lab_edits[-1][0]
    acks[0] = dataclasses.replace(
        first,
        lab_creates=[*first.lab_creates, ("LD00", "2099-01-01", "HGB", 95.0)],
        lab_edits=[*first.lab_edits, (pk, 123.4, "a correction never sent")],
        subjects=[*first.subjects, "LD99"],
    )
    check = bench.check_writes(data, acks, names, audit_verify=False)
    assert len(check.lost) == 3
    assert check.lost[0] == "subject LD99 (in db False, in audit False)"
    assert "lab LD00|2099-01-01|HGB = 95.0 (in db False, in audit False)" in check.lost
    assert (
        f"lab {pk} correction 'a correction never sent' = 123.4 (in db False, in audit "
        "False)" in check.lost
    )


def test_percentile_matches_numpy():
    rng = np.random.default_rng(7)
    for n in (1, 2, 7, 100, 1001):
        values = rng.exponential(50.0, n).tolist()
        for q in (50, 95, 99):
            assert bench.percentile(values, q) == pytest.approx(np.percentile(values, q))
