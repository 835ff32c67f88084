"""`saatrial report` on incomplete studies still writes a report that says what it could not do.

Issue 5 "Done when": a study with missing visits, an arm with no events, or a
single arm. Each is the bundled study changed by hand and renamed (another
study id and registry id), so it has no published reference: the report has no
Reproduction section, says so, and the command exits 0. The expected notices
follow from the change, worked by hand:

- missing visits: the day-90 labs (study days 76-104, the D9 window) of MSC01,
  MSC02 and CTL01 are dropped -> each blood-count ANOVA runs on the 15 complete
  cases and names the 3 left out; their day-90 response is not evaluable;
- no events in an arm: the control arm's deaths and HSCTs are dropped -> its
  OS and FFS curves have no event (the curve stays at 1);
- single arm: only the MSC arm remains -> no between-arm test at all (no
  log-rank, no ANOVA interaction), the figures say one arm only.
"""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from saatrial.cli import app
from saatrial.study import StudyData, load_bundled_study

from ._r3_support import renamed

pytestmark = pytest.mark.slow  # three full reports (derive, analyse, draw, write)

NO_REFERENCE = "Reproduction: not checked: no published results for study robust01 in this package"


@pytest.fixture(scope="module")
def bundled() -> StudyData:
    return load_bundled_study()


def _study_day(study: StudyData, table: str, column: str):
    ex = study["exposures"]
    day1 = ex[ex["drug"] == "RATG"].groupby("subject_id")["start_date"].min()
    frame = study[table]
    return (frame[column] - frame["subject_id"].map(day1)).dt.days + 1


def _notices(page: str) -> list[str]:
    """``where: what`` of each row of the page's Notices table."""
    block = page[page.index('id="tbl-notices"') :]
    block = block[: block.index("</table>")]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", block)
    return [f"{unescape(w)}: {unescape(m)}" for w, m in rows]


def _report(study: StudyData, tmp_path: Path) -> tuple[int, str, str, list[str], dict]:
    """Write the study as CSV and run `saatrial report` on it.

    Returns the exit code, the console output, the page text, the notices listed
    in the page's Notices section and results.json.
    """
    folder = study.write_csv(tmp_path / "study")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["report", str(folder), "--out", str(out)], catch_exceptions=False
    )
    page = (out / "index.html").read_text(encoding="utf-8")
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF-")
    results = json.loads((out / "results.json").read_text())
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))
    return result.exit_code, result.output, text, _notices(page), results


def _common(code: int, output: str, text: str, notices: list[str]) -> None:
    assert code == 0, output
    assert "No published reference for this study: no reproduction check." in output
    assert NO_REFERENCE in notices
    assert "Reproduction of the published results" not in text  # no such section


def test_missing_visits(bundled, tmp_path):
    labs = bundled["labs"]
    day = _study_day(bundled, "labs", "lab_date")
    drop = labs["subject_id"].isin(["MSC01", "MSC02", "CTL01"]) & day.between(76, 104)
    code, output, text, notices, results = _report(renamed(bundled, labs=labs[~drop]), tmp_path)
    _common(code, output, text, notices)
    for param in ("PLT", "ANC", "HGB", "ARC"):
        assert (
            f"Repeated-measures ANOVA ({param}): 3 subject(s) left out for a missing visit "
            "(complete cases): CTL01, MSC01, MSC02"
        ) in notices
        assert results["repeated_measures_anova_p"][param] is not None  # still computed
    assert any(n.startswith("Response D90: 3 subject(s) not evaluable") for n in notices)
    assert (
        "figure1_blood_counts: Platelets: day 90 value missing for 2 of 9 subjects in "
        "UC-MSC + IST; mean ± SE of the others shown"
    ) in notices


def test_arm_without_events(bundled, tmp_path):
    ev = bundled["outcome_events"]
    control = ev["subject_id"].str.startswith("CTL") & ev["event_type"].isin(["DEATH", "HSCT"])
    study = renamed(bundled, outcome_events=ev[~control])
    code, output, text, notices, results = _report(study, tmp_path)
    _common(code, output, text, notices)
    assert "Kaplan-Meier OS (CONTROL): no events in the arm: the curve stays at 1" in notices
    assert "Kaplan-Meier FFS (CONTROL): no events in the arm: the curve stays at 1" in notices
    lt = results["long_term"]
    assert lt["os_4y"]["CONTROL"]["est"] == 1.0 and lt["ffs_4y"]["CONTROL"]["est"] == 1.0
    assert lt["ffs_logrank_p"] is not None  # the MSC arm still has events: test computed


def test_single_arm(bundled, tmp_path):
    keep = [s for s in bundled.subject_ids if s.startswith("MSC")]
    tables = {
        name: (df[df["subject_id"].isin(keep)] if "subject_id" in df else df)
        for name, df in bundled.tables.items()
        if name != "study"
    }
    tables["arms"] = bundled["arms"][bundled["arms"]["arm_id"] == "MSC"]
    tables["dose_levels"] = bundled["dose_levels"][bundled["dose_levels"]["arm_id"] == "MSC"]
    code, output, text, notices, results = _report(renamed(bundled, **tables), tmp_path)
    _common(code, output, text, notices)
    assert (
        "Populations: the study has 1 arm(s): no between-arm comparison can be computed"
        in notices
    )
    assert "Log-rank FFS: no log-rank test: it needs 2 arms, 1 with data" in notices
    assert (
        "Repeated-measures ANOVA (PLT): no ANOVA: the arm x time interaction needs 2 arms, "
        "1 with data"
    ) in notices
    assert (
        "figure3_ffs: Failure-free survival: one arm only; no between-arm comparison shown"
        in notices
    )
    assert results["long_term"]["ffs_logrank_p"] is None
    assert results["repeated_measures_anova_p"]["PLT"] is None
    assert results["long_term"]["ffs_4y"]["MSC"]["est"] == pytest.approx(0.381, abs=0.001)
    assert "9 patients: UC-MSC + IST n = 9." in text
