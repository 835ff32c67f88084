"""Study data: load the bundled study, derive, analyse and report (issue 2: load < 1 s)

Best of 5 wall-clock runs after one warm-up, in this process. The floor is
plain ``pandas.read_csv`` of the same 15 CSV files with every column as text
(no typing, no checks); ``load_bundled_study`` adds dictionary typing, code,
range and key checks. ``derive_all`` builds the five ADaM datasets;
``analyze`` runs every statistic of the report; ``build_report`` adds the
tables and the six figures (rendering PNG and SVG).
"""

from __future__ import annotations

import time
from importlib import resources
from typing import Any

import pandas as pd

from saatrial.derive import derive_all
from saatrial.protocol import load_protocol
from saatrial.report.analysis import analyze
from saatrial.report.build import build_report
from saatrial.study import load_bundled_study

REPEATS = 5
LOAD_TARGET_S = 1.0


def _best(fn: Any, repeats: int = REPEATS) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _read_plain() -> None:
    folder = resources.files("saatrial.study").joinpath("bundled/nct02218437")
    for entry in folder.iterdir():
        if entry.name.endswith(".csv"):
            with entry.open("r", encoding="utf-8") as fh:
                pd.read_csv(fh, dtype=str, keep_default_na=False)


def run() -> list[dict[str, Any]]:
    """One row per step."""
    protocol = load_protocol()
    study = load_bundled_study()
    ads = derive_all(study, protocol)
    floor = _best(_read_plain)
    rows: list[dict[str, Any]] = []

    def add(step: str, seconds: float, target: float | None = None) -> None:
        rows.append(
            {
                "step": step,
                "seconds": seconds,
                "ratio vs plain read_csv": seconds / floor,
                "target s": target,
                "met": None if target is None else ("yes" if seconds < target else "NO"),
            }
        )

    add("pandas.read_csv x15, text only (floor)", floor)
    add("load_bundled_study (typed + checked)", _best(load_bundled_study), LOAD_TARGET_S)
    add("derive_all (ADSL, ADLB, ADRS, ADTTE, ADAE)", _best(lambda: derive_all(study, protocol)))
    add("analyze (all statistics)", _best(lambda: analyze(ads, protocol, study=study), 2))
    add("build_report (tables + 6 figures)", _best(lambda: build_report(study, protocol), 1))
    return rows


def notes(rows: list[dict[str, Any]]) -> str:
    load = next(r for r in rows if r["step"].startswith("load_bundled_study"))
    return (
        f"Loading the bundled study took {load['seconds']:.3f} s "
        f"(target < {LOAD_TARGET_S:.0f} s: {'met' if load['met'] == 'yes' else 'NOT met'})."
    )
