"""Batch analysis: the manifest's rules, per-sample failures, the output folder."""

from __future__ import annotations

import csv
import datetime as dt
import doctest
from pathlib import Path

import pytest

from saatrial.cytometry import batch as batch_module
from saatrial.cytometry import demo as demo_module
from saatrial.cytometry import manifest as manifest_module
from saatrial.cytometry.batch import (
    FAILURE_COLUMNS,
    QC_COLUMNS,
    process_sample,
    results_csv,
    run_batch,
)
from saatrial.cytometry.demo import write_demo_batch
from saatrial.cytometry.manifest import ManifestError, read_manifest

HEADER = "subject_id,sample_date,stained_file,isotype_file,beads_per_tube,blood_volume_ul\n"


def _manifest(tmp_path: Path, body: str, header: str = HEADER, name: str = "m.csv") -> Path:
    p = tmp_path / name
    p.write_text(header + body, encoding="utf-8")
    return p


def _errors(path: Path) -> list[str]:
    with pytest.raises(ManifestError) as info:
        read_manifest(path)
    return list(info.value.problems)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# --- manifest ---------------------------------------------------------------------------


def test_valid_manifest_resolves_paths_against_its_folder(tmp_path: Path) -> None:
    p = _manifest(tmp_path, "MSC01,2014-04-06,fcs/a.fcs,/abs/b.fcs,50123,50,D180\n",
                  header=HEADER.replace("\n", ",visit\n"))
    (row,) = read_manifest(p)
    assert (row.line, row.subject_id, row.sample_date, row.visit) == (
        2, "MSC01", dt.date(2014, 4, 6), "D180")
    assert row.stained_path == tmp_path / "fcs" / "a.fcs"
    assert row.isotype_path == Path("/abs/b.fcs")
    assert (row.beads_per_tube, row.blood_volume_ul) == (50123, 50.0)
    assert row.key == "MSC01_2014-04-06" and row.label == "MSC01 2014-04-06 (D180)"


def test_bom_semicolons_blank_lines_and_header_case_are_accepted(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    p.write_bytes(("\ufeff" + HEADER.upper().replace(",", ";")
                   + "\nS1;2014-01-02;a.fcs;b.fcs;40000;100\n\n").encode("utf-8"))
    (row,) = read_manifest(p)
    assert (row.line, row.beads_per_tube) == (3, 40000)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        # hand-worked from the manifest rules: one bad cell each
        ("S1,2014-02-30,a,b,50000,50", "m.csv:2: sample_date: date (YYYY-MM-DD): 2014-02-30"),
        ("S1,02/03/2014,a,b,50000,50", "m.csv:2: sample_date: date (YYYY-MM-DD): 02/03/2014"),
        ("S1,2014-03-02,a,b,0,50", "m.csv:2: beads_per_tube: positive_integer: 0"),
        ("S1,2014-03-02,a,b,-5,50", "m.csv:2: beads_per_tube: positive_integer: -5"),
        ("S1,2014-03-02,a,b,5e4,50", "m.csv:2: beads_per_tube: positive_integer: 5e4"),
        ("S1,2014-03-02,a,b,50000.0,50", "m.csv:2: beads_per_tube: positive_integer: 50000.0"),
        ("S1,2014-03-02,a,b,50000,0", "m.csv:2: blood_volume_ul: positive_number: 0"),
        ("S1,2014-03-02,a,b,50000,abc", "m.csv:2: blood_volume_ul: positive_number: abc"),
        ("S1,2014-03-02,a,b,50000,nan", "m.csv:2: blood_volume_ul: positive_number: nan"),
        ("S1,2014-03-02,a,b,50000,inf", "m.csv:2: blood_volume_ul: positive_number: inf"),
        ("S1,2014-03-02,,b,50000,50", "m.csv:2: stained_file: required: "),
        ("S1,2014-03-02,a,b,50000", "m.csv:2: *: cells (6 expected): 5"),
    ],
)
def test_each_bad_cell_is_named(tmp_path: Path, cells: str, expected: str) -> None:
    assert _errors(_manifest(tmp_path, cells + "\n")) == [expected]


def test_just_valid_boundary_values(tmp_path: Path) -> None:
    (row,) = read_manifest(_manifest(tmp_path, "S1,2016-02-29,a,b,1,0.001\n"))
    assert (row.sample_date, row.beads_per_tube, row.blood_volume_ul) == (
        dt.date(2016, 2, 29), 1, 0.001)


def test_duplicate_subject_and_date_is_refused(tmp_path: Path) -> None:
    p = _manifest(tmp_path, "S1,2014-03-02,a,b,5,50\nS2,2014-03-02,c,d,5,50\n"
                            "S1,2014-03-02,e,f,5,50\n")
    assert _errors(p) == [
        "m.csv:4: subject_id+sample_date: unique (same subject and date as line 2): "
        "S1|2014-03-02"
    ]


def test_columns_missing_unknown_and_visit_only(tmp_path: Path) -> None:
    header = "subject_id,visit,stained_file,isotype_file,beads_per_tube,blood_volume,note\n"
    errors = _errors(_manifest(tmp_path, "S1,D90,a,b,5,50,x\n", header=header))
    allowed = ("subject_id, sample_date, stained_file, isotype_file, beads_per_tube, "
               "blood_volume_ul, visit")
    assert errors == [
        f"m.csv:1: blood_volume: unknown_column (allowed: {allowed}): blood_volume",
        f"m.csv:1: note: unknown_column (allowed: {allowed}): note",
        "m.csv:1: sample_date: required_column (the T-cell subsets table is keyed by "
        "subject_id and sample_date; a visit alone cannot be imported): missing",
        "m.csv:1: blood_volume_ul: required_column: missing",
    ]


def test_empty_and_missing_manifests(tmp_path: Path) -> None:
    assert _errors(_manifest(tmp_path, "")) == [
        "m.csv:1: *: no_rows: (the manifest lists no sample)"]
    assert _errors(_manifest(tmp_path, "", header="")) == [
        "m.csv:1: *: empty: (no header; columns subject_id, sample_date, stained_file, "
        "isotype_file, beads_per_tube, blood_volume_ul)"]
    missing = tmp_path / "nope.csv"
    assert _errors(missing) == [f"{missing}:0: *: not_found: {missing}"]


def test_folder_keys_are_file_system_safe_and_unique(tmp_path: Path) -> None:
    rows = read_manifest(_manifest(tmp_path, "A/1,2014-03-02,a,b,5,50\nA:1,2014-03-02,c,d,5,50\n"
                                             "B 2,2014-03-03,e,f,5,50\n"))
    assert [r.key for r in rows] == ["A_1_2014-03-02_line2", "A_1_2014-03-02_line3",
                                     "B_2_2014-03-03"]


# --- one sample ---------------------------------------------------------------------------


def test_unreadable_files_fail_the_sample_with_their_reason(tmp_path: Path) -> None:
    (tmp_path / "text.fcs").write_text("Sample,CD4,CD25,CD127\n" * 5)  # a CSV export
    rows = read_manifest(_manifest(tmp_path, "S1,2014-03-02,missing.fcs,b.fcs,5,50\n"
                                             "S2,2014-03-02,text.fcs,b.fcs,5,50\n"))
    missing = process_sample(rows[0], tmp_path / "out1")
    assert (missing.status, missing.stage) == ("failed", "read")
    assert missing.error == f"{tmp_path / 'missing.fcs'}: file not found"
    not_fcs = process_sample(rows[1], tmp_path / "out2")
    assert (not_fcs.stage, not_fcs.ok) == ("read", False)
    assert "not an FCS file" in not_fcs.error and "text.fcs" in not_fcs.error
    assert not (tmp_path / "out1").exists()  # nothing written for a failed sample


# --- the batch ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    """Four samples, the second with a truncated stained file."""
    return write_demo_batch(tmp_path_factory.mktemp("demo") / "in", n_samples=4, n_broken=1,
                            events=12_000, seed=7)


@pytest.fixture(scope="module")
def batch(demo, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("b") / "out"
    seen = []
    report = run_batch(demo.manifest_path, out, on_done=seen.append)
    return report, out, seen


def test_batch_goes_on_past_a_bad_file(demo, batch) -> None:
    report, _out, seen = batch
    assert len(seen) == 4 and report.n_ok == 3 and report.exit_code == 1
    (failed,) = report.failed
    bad = demo.broken[0]
    assert (failed.row.subject_id, failed.stage) == (bad.subject_id, "read")
    assert "truncated" in failed.error and bad.stained_file.split("/")[1] in failed.error
    assert report.summary().startswith("3 of 4 samples analysed, 1 failed (see failures.csv); "
                                       "exit code 1;")


def test_output_folder_contents(demo, batch) -> None:
    report, out, _ = batch
    assert sorted(p.name for p in out.iterdir()) == [
        "batch.log", "failures.csv", "manifest.csv", "qc.csv", "results.csv", "samples"]
    ok = [o for o in report.outcomes if o.ok]
    assert sorted(p.name for p in (out / "samples").iterdir()) == sorted(o.row.key for o in ok)
    for o in ok:
        files = sorted(p.name for p in (out / "samples" / o.row.key).iterdir())
        assert files == ["gates.png", "gates.xml", "result.json"]
    assert (out / "manifest.csv").read_bytes() == demo.manifest_path.read_bytes()
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_results_are_the_tcell_table_in_canonical_form_and_near_truth(demo, batch) -> None:
    from saatrial.study.csvio import csv_bytes
    from saatrial.study.dictionary import load_dictionary
    from saatrial.study.frames import RawTable, assemble

    _report, out, _ = batch
    text = (out / "results.csv").read_text(encoding="utf-8")
    spec = load_dictionary().tables["tcell_subsets"]
    lines = text.splitlines()
    typed = assemble(RawTable(spec, "results.csv", lines[0].split(","),
                              [(i + 2, ln.split(",")) for i, ln in enumerate(lines[1:])]))
    assert typed.problems == []
    assert csv_bytes(typed.frame, spec).decode() == text  # byte-identical canonical CSV
    truth = {(s.subject_id, s.sample_date.isoformat()): s for s in demo.samples}
    rows = _rows(out / "results.csv")
    assert len(rows) == 3
    for r in rows:
        t = truth[(r["subject_id"], r["sample_date"])]
        assert abs(float(r["treg_pct_of_cd4"]) - t.treg_pct_of_cd4) < 1.0
        assert float(r["cd4_per_ul"]) == pytest.approx(t.cd4_per_ul, rel=0.05)
        assert float(r["treg_per_ul"]) == pytest.approx(t.treg_per_ul, rel=0.05)
        assert (r["method"], r["cd3cd4_pct"], r["cd3cd8_pct"]) == ("FLOW", "", "")


def test_qc_failures_and_log(demo, batch) -> None:
    report, out, _ = batch
    qc = _rows(out / "qc.csv")
    assert list(qc[0]) == list(QC_COLUMNS)
    assert [q["status"] for q in qc] == [o.status for o in report.outcomes]
    for q, o in zip(qc, report.outcomes, strict=True):
        if o.ok:
            s = o.summary
            assert int(q["treg_events"]) == s["treg_events"]
            assert int(q["bead_events"]) == s["bead_events"]
            assert float(q["threshold_cd25"]) == pytest.approx(s["threshold_cd25"], rel=1e-9)
            assert q["compensation"] == "stained: $SPILLOVER; isotype: $SPILLOVER"
            assert q["error"] == ""
        else:
            assert q["error"] == o.error and q["treg_events"] == ""
    fails = _rows(out / "failures.csv")
    assert list(fails[0]) == list(FAILURE_COLUMNS)
    assert [(f["subject_id"], f["stage"], f["error"]) for f in fails] == [
        (o.row.subject_id, o.stage, o.error) for o in report.failed]
    log = (out / "batch.log").read_text()
    assert log.count("[ok]") == 3 and log.count("[FAILED]") == 1
    assert "3 of 4 samples analysed, 1 failed; exit code 1" in log


def test_results_csv_of_no_success_is_header_only() -> None:
    assert results_csv([]) == (
        "subject_id,sample_date,cd3cd4_pct,cd3cd8_pct,treg_pct_of_cd4,cd4_per_ul,"
        "treg_per_ul,method\n")


def test_existing_output_is_refused_unless_forced(demo, batch, tmp_path: Path) -> None:
    _, out, _ = batch
    before = (out / "results.csv").read_bytes()
    with pytest.raises(FileExistsError, match="use --force"):
        run_batch(demo.manifest_path, out)
    assert (out / "results.csv").read_bytes() == before
    # force with a one-sample manifest: the folder is replaced as a whole
    one = tmp_path / "one.csv"
    lines = demo.manifest_path.read_text().splitlines()
    one.write_text("\n".join(lines[:2]).replace("fcs/", str(demo.folder / "fcs") + "/") + "\n")
    target = tmp_path / "copy"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    report = run_batch(one, target, force=True)
    assert report.exit_code == 0
    assert not (target / "stale.txt").exists() and (target / "results.csv").is_file()


def test_bad_manifest_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ManifestError):
        run_batch(_manifest(tmp_path, "S1,2014-02-30,a,b,5,50\n"), out)
    assert list(tmp_path.iterdir()) == [tmp_path / "m.csv"]


def test_interrupted_batch_leaves_nothing(demo, tmp_path: Path) -> None:
    def stop(_outcome) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(demo.manifest_path, tmp_path / "out", on_done=stop)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("module", [batch_module, manifest_module, demo_module],
                         ids=["batch", "manifest", "demo"])
def test_module_examples(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_panel_file_maps_the_channels(demo, tmp_path: Path) -> None:
    row = next(r for r in read_manifest(demo.manifest_path)
               if r.subject_id != demo.broken[0].subject_id)
    o = process_sample(row, tmp_path / "s", "treg-facscanto-ii")
    assert o.ok, o.error
    assert (o.summary["channel_cd4"], o.summary["channel_cd25"], o.summary["channel_cd127"],
            o.summary["channel_beads"]) == ("PerCP-Cy5-5-A", "PE-A", "APC-A", "FITC-A")


# --- the demo batch -----------------------------------------------------------------------


def test_demo_batch_subjects_dates_and_every_kind_of_breakage(tmp_path: Path) -> None:
    demo = write_demo_batch(tmp_path / "d", n_samples=19, n_broken=4, events=6_000)
    picks = [(s.subject_id, s.sample_date.isoformat(), s.visit) for s in demo.samples]
    # enrolment + 180 days: CTL01 enrolled 2013-10-18 -> 2014-04-16 (bundled subjects.csv)
    assert picks[0] == ("CTL01", "2014-04-16", "D180")
    # MSC06 died 2014-10-18, before enrolment (2014-05-09) + 180 days: skipped, and the
    # 18th sample is the second round's first, 30 days later
    assert "MSC06" not in {p[0] for p in picks}
    assert picks[17] == ("CTL01", "2014-05-16", "")
    assert [s.broken for s in demo.broken] == ["truncated", "wrong_channels", "not_fcs",
                                               "missing"]
    rows = {r.subject_id + r.sample_date.isoformat(): r for r in read_manifest(
        demo.manifest_path)}
    expected = {"truncated": ("read", "_stained.fcs: truncated"),
                "wrong_channels": ("analysis", "isotype tube lacks channel 'APC-A'"),
                "not_fcs": ("read", "_stained.fcs: not an FCS file"),
                "missing": ("read", "_isotype.fcs: file not found")}
    for s in demo.broken:
        o = process_sample(rows[s.subject_id + s.sample_date.isoformat()], tmp_path / "x")
        stage, text = expected[s.broken]
        assert (o.status, o.stage) == ("failed", stage) and text in o.error, o.error
