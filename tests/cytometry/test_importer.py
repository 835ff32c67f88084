"""Merging flow results into a study's tcell_subsets table (hand-written results files).

Each case states the bundled-study fact it relies on (consent and death dates, the
line of an existing row); ``test_facts_of_the_bundled_study_used_here`` checks them
against the study first, so that a change in the bundled data fails loudly there.
"""

from __future__ import annotations

import doctest
from pathlib import Path

import pandas as pd
import pytest

from saatrial.cytometry import importer as importer_module
from saatrial.cytometry.importer import ResultsImportError, import_results
from saatrial.study import StudyData, StudyDataError, load_bundled_study, validate_path

HEADER = ("subject_id,sample_date,cd3cd4_pct,cd3cd8_pct,treg_pct_of_cd4,cd4_per_ul,treg_per_ul,"
          "method\n")


@pytest.fixture(scope="module")
def bundled() -> StudyData:
    return load_bundled_study()


@pytest.fixture
def study(tmp_path: Path, bundled: StudyData) -> Path:
    return bundled.write_csv(tmp_path / "study")


def _results(tmp_path: Path, body: str, name: str = "results.csv") -> Path:
    p = tmp_path / name
    p.write_text(HEADER + body, encoding="utf-8")
    return p


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _refused(results: Path, study: Path, **kw) -> list[str]:
    before = _snapshot(study)
    with pytest.raises(ResultsImportError) as info:
        import_results(results, study, **kw)
    assert _snapshot(study) == before  # nothing written
    return list(info.value.problems)


def _subject(bundled: StudyData, sid: str) -> dict:
    subjects = bundled.tables["subjects"]
    return subjects[subjects["subject_id"] == sid].iloc[0].to_dict()


def test_facts_of_the_bundled_study_used_here(bundled: StudyData) -> None:
    assert _subject(bundled, "MSC01")["consent_date"] == pd.Timestamp("2013-10-01")
    ev = bundled.tables["outcome_events"]
    death = ev[(ev["subject_id"] == "MSC06") & (ev["event_type"] == "DEATH")]["event_date"]
    assert death.tolist() == [pd.Timestamp("2014-10-18")]
    tc = bundled.tables["tcell_subsets"]
    row = tc[(tc["subject_id"] == "MSC01") & (tc["sample_date"] == "2013-11-16")].iloc[0]
    assert (row["treg_pct_of_cd4"], row["method"]) == (4.03, "MANUAL")


def test_new_rows_are_added_and_only_that_file_changes(tmp_path: Path, study: Path) -> None:
    before = _snapshot(study)
    res = _results(tmp_path, "MSC01,2014-04-02,,,6.5,812.5,52.8,FLOW\n"
                             "CTL02,2014-05-21,,,4.25,1500,63.75,FLOW\n")
    report = import_results(res, study)
    assert [(c.line, c.subject_id, c.sample_date, c.kind) for c in report.changes] == [
        (2, "MSC01", "2014-04-02", "added"), (3, "CTL02", "2014-05-21", "added")]
    assert report.written and report.summary().startswith("2 added, 0 replaced, 0 unchanged")
    after = _snapshot(study)
    assert [k for k in before if before[k] != after[k]] == ["tcell_subsets.csv"]
    lines = after["tcell_subsets.csv"].decode().splitlines()
    assert len(lines) == 1 + 36 + 2
    # canonical order: sorted by subject then date
    i = lines.index("MSC01,2014-04-02,,,6.5,812.5,52.8,FLOW")
    assert lines[i - 1].startswith("MSC01,2013-11-16,") and lines[i + 1].startswith("MSC02,")
    assert "CTL02,2014-05-21,,,4.25,1500,63.75,FLOW" in lines
    assert validate_path(study).ok


def test_reimport_of_identical_rows_changes_nothing(tmp_path: Path, study: Path) -> None:
    res = _results(tmp_path, "MSC01,2014-04-02,,,6.5,812.5,52.8,FLOW\n")
    import_results(res, study)
    before = _snapshot(study)
    report = import_results(res, study)
    assert [c.kind for c in report.changes] == ["unchanged"] and not report.written
    assert _snapshot(study) == before


def test_existing_key_needs_replace(tmp_path: Path, study: Path) -> None:
    res = _results(tmp_path, "MSC01,2013-11-16,,,4.5,900,40.5,FLOW\n")
    assert _refused(res, study) == [
        "results.csv:2: subject_id+sample_date: exists (in tcell_subsets.csv line 21 with "
        "other values; use --replace): MSC01|2013-11-16"
    ]
    report = import_results(res, study, replace=True)
    (c,) = report.changes
    assert c.kind == "replaced"
    assert c.old["treg_pct_of_cd4"] == "4.03" and c.new["treg_pct_of_cd4"] == "4.5"
    assert c.changed_fields == ("cd3cd4_pct", "cd3cd8_pct", "treg_pct_of_cd4", "cd4_per_ul",
                                "treg_per_ul", "method")
    text = (study / "tcell_subsets.csv").read_text()
    assert "MSC01,2013-11-16,,,4.5,900,40.5,FLOW\n" in text
    assert "MSC01,2013-11-16,28.6" not in text


def test_unknown_subject_and_duplicate_rows(tmp_path: Path, study: Path) -> None:
    res = _results(tmp_path, "XX99,2014-04-02,,,6.5,812.5,52.8,FLOW\n"
                             "MSC02,2014-05-07,,,6.5,812.5,52.8,FLOW\n"
                             "MSC02,2014-05-07,,,7,812.5,52.8,FLOW\n")
    assert _refused(res, study) == [
        "results.csv:2: subject_id: references subjects.subject_id: XX99",
        "results.csv:4: subject_id+sample_date: unique_key (same key as row 3): "
        "MSC02|2014-05-07",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # tcell_subsets.treg_pct_of_cd4 hard_range [0, 100]: 100 is allowed, 100.01 is not
        ("100.01", ["results.csv:2: treg_pct_of_cd4: hard_range [0, 100]: 100.01"]),
        ("-0.01", ["results.csv:2: treg_pct_of_cd4: hard_range [0, 100]: -0.01"]),
        ("abc", ["results.csv:2: treg_pct_of_cd4: type number: abc"]),
    ],
)
def test_cells_are_parsed_like_the_study_reader(tmp_path: Path, study: Path, value: str,
                                                expected: list[str]) -> None:
    res = _results(tmp_path, f"MSC03,2014-06-11,,,{value},812.5,52.8,FLOW\n")
    assert _refused(res, study) == expected


def test_hard_range_boundary_and_soft_range_warning(tmp_path: Path, study: Path) -> None:
    # 100 is on the hard boundary (allowed) and above the soft range [0.5, 20] (a warning)
    res = _results(tmp_path, "MSC03,2014-06-11,,,100,812.5,52.8,FLOW\n")
    report = import_results(res, study)
    assert report.written and report.warnings == (
        "results.csv:2: treg_pct_of_cd4: soft_range [0.5, 20]: 100",)


def test_dates_before_consent_or_after_death_are_refused(tmp_path: Path, study: Path) -> None:
    res = _results(tmp_path, "MSC01,2013-09-30,,,5,800,40,FLOW\n"   # consent 2013-10-01
                             "MSC01,2013-10-01,,,5,800,40,FLOW\n"   # consent day: fine
                             "MSC06,2014-10-19,,,5,800,40,FLOW\n"   # died 2014-10-18
                             "MSC06,2014-10-18,,,5,800,40,FLOW\n")  # death day: fine
    assert _refused(res, study) == [
        "results.csv:2: sample_date: before_consent (consent 2013-10-01): 2013-09-30",
        "results.csv:4: sample_date: after_death (death 2014-10-18): 2014-10-19",
    ]


def test_dry_run_reports_without_writing(tmp_path: Path, study: Path) -> None:
    before = _snapshot(study)
    report = import_results(_results(tmp_path, "MSC01,2014-04-02,,,6.5,812.5,52.8,FLOW\n"),
                            study, dry_run=True)
    assert report.count("added") == 1 and not report.written
    assert _snapshot(study) == before


def test_unusable_inputs(tmp_path: Path, study: Path) -> None:
    bad_col = tmp_path / "r.csv"
    bad_col.write_text(HEADER.replace("method", "methods") + "MSC01,2014-04-02,,,6,8,5,FLOW\n")
    problems = _refused(bad_col, study)
    assert problems and all(p.startswith("r.csv:1:") for p in problems)
    assert _refused(tmp_path / "none.csv", study) == ["none.csv:0: *: not_found: "
                                                      f"{tmp_path / 'none.csv'}"]
    xlsx = tmp_path / "study.xlsx"
    with pytest.raises(ResultsImportError, match="not_a_folder"):
        import_results(_results(tmp_path, ""), xlsx)
    broken = tmp_path / "broken"
    broken.mkdir()
    with pytest.raises(StudyDataError):
        import_results(_results(tmp_path, ""), broken)


def test_module_examples() -> None:
    result = doctest.testmod(importer_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
