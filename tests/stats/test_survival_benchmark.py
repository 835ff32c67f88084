"""Smoke test of the survival benchmark and of benchmarks/run.py (tiny N, no timing claims)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_bench_survival_runs_and_all_peers_agree(monkeypatch) -> None:
    pytest.importorskip("lifelines")
    monkeypatch.setenv("SAATRIAL_BENCH_SIZES", "2000")
    bench = load("bench_survival")
    rows = bench.run()
    names = {row["implementation"] for row in rows}
    assert {"saatrial", "lifelines", "statsmodels", "scipy"} <= names
    assert {row["times"] for row in rows} == {"continuous", "whole days"}
    peers = [row for row in rows if row["chi2"] is not None]
    assert len(peers) == 12  # 6 implementations with a statistic x 2 kinds of data
    assert all(row["agrees"] == "yes" for row in peers)
    assert "Targets" in bench.notes(rows)


def test_run_writes_markdown_atomically(tmp_path, monkeypatch) -> None:
    run = load("run")
    out = tmp_path / "latest.md"
    monkeypatch.setattr(run, "HERE", tmp_path)  # no bench modules there
    assert run.main(["--out", str(out)]) == 1
    (tmp_path / "bench_demo.py").write_text(
        '"""Demo section"""\n\ndef run():\n    return [{"a": 1, "b": 0.5}, {"a": 2, "c": "x|y"}]\n'
    )
    assert run.main(["--out", str(out)]) == 0
    text = out.read_text()
    assert "## Demo section" in text
    assert "| a | b | c |" in text
    assert "| 2 |  | x\\|y |" in text
    assert not list(tmp_path.glob("*.tmp"))


def test_bench_survival_exact_runs() -> None:
    bench = load("bench_survival_exact")
    rows = bench.run()
    assert {row["method"] for row in rows} == {"exact", "monte-carlo"}
    nine = [row for row in rows if row["case"].startswith("9 vs 9")]
    assert len(nine) == 4 and all(row["relabelings"] == 48_620 for row in nine)
    assert "Slowest 9 vs 9 case" in bench.notes(rows)
