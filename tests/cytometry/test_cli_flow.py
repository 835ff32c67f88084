"""``saatrial flow ...`` through the typer CLI, end to end.

Issue 6 Done-when: a batch of 20 synthetic samples with two deliberately broken
files completes, reports the two failures with reasons, and imports the other 18
(synth -> batch -> import into a copy of the bundled study -> validate).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from saatrial.cli import app
from saatrial.cytometry import SyntheticSpec, analyze_treg, write_synthetic_pair
from saatrial.study import load_bundled_study

runner = CliRunner()
WIDE = {"COLUMNS": "250"}
SMALL = {"n_lymphocytes": 8_000, "n_monocytes": 1_200, "n_granulocytes": 6_000,
         "n_debris": 1_600, "bead_events": 2_000}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_synth_batch_import_validate_twenty_samples(tmp_path: Path) -> None:
    demo, out = tmp_path / "demo", tmp_path / "out"
    r = runner.invoke(app, ["flow", "synth", str(demo), "--samples", "20", "--broken", "2"],
                      env=WIDE)
    assert r.exit_code == 0, r.output
    assert r.output.count("deliberately broken") == 2

    r = runner.invoke(app, ["flow", "batch", str(demo / "manifest.csv"), "--out", str(out),
                            "--jobs", "2"], env=WIDE)
    assert r.exit_code == 1, r.output  # 1: some samples failed (the others are written)
    assert "18 of 20 samples analysed, 2 failed (see failures.csv); exit code 1" in r.output
    truth = _rows(demo / "truth.csv")
    broken = {(t["subject_id"], t["sample_date"]): t["broken"] for t in truth if t["broken"]}
    assert sorted(broken.values()) == ["truncated", "wrong_channels"]
    fails = _rows(out / "failures.csv")
    reasons = {(f["subject_id"], f["sample_date"]): (f["stage"], f["error"]) for f in fails}
    assert set(reasons) == set(broken)
    for key, kind in broken.items():
        stage, error = reasons[key]
        if kind == "truncated":
            assert stage == "read" and "_stained.fcs: truncated" in error
        else:
            assert stage == "analysis"
            assert "_isotype.fcs: isotype tube lacks channel 'APC-A'" in error
        assert f"FAILED {key[0]} {key[1]}" in r.output  # reported as it happened
    results = _rows(out / "results.csv")
    assert len(results) == 18 and len(list((out / "samples").iterdir())) == 18

    study = load_bundled_study().write_csv(tmp_path / "study")
    r = runner.invoke(app, ["flow", "import", str(out / "results.csv"), str(study)], env=WIDE)
    assert r.exit_code == 0, r.output
    assert "18 added, 0 replaced, 0 unchanged" in r.output
    r = runner.invoke(app, ["validate", str(study)])
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"0 errors, 0 warnings in {study}"

    # the imported numbers are the truth to within the tolerances
    tc = {(row["subject_id"], row["sample_date"]): row
          for row in _rows(study / "tcell_subsets.csv") if row["method"] == "FLOW"}
    assert len(tc) == 18
    for t in truth:
        key = (t["subject_id"], t["sample_date"])
        if key in broken:
            assert key not in tc
            continue
        got = tc[key]
        assert abs(float(got["treg_pct_of_cd4"]) - float(t["treg_pct_of_cd4"])) < 1.0
        assert float(got["cd4_per_ul"]) == pytest.approx(float(t["cd4_per_ul"]), rel=0.05)
        assert float(got["treg_per_ul"]) == pytest.approx(float(t["treg_per_ul"]), rel=0.05)

    # importing the same results again is refused for nothing and changes nothing
    r = runner.invoke(app, ["flow", "import", str(out / "results.csv"), str(study)], env=WIDE)
    assert r.exit_code == 0 and "0 added, 0 replaced, 18 unchanged" in r.output


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("cli")
    return write_synthetic_pair(folder, SyntheticSpec(seed=31, treg_fraction=0.05, **SMALL),
                                "C31")


def test_treg_json(pair) -> None:
    r = runner.invoke(app, ["flow", "treg", str(pair.stained_path), str(pair.isotype_path),
                            "--beads", "52000", "--volume-ul", "50", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    ref = analyze_treg(pair.stained_path, pair.isotype_path, beads_per_tube=52_000,
                       blood_volume_ul=50)
    for key in ("treg_pct_of_cd4", "cd4_per_ul", "treg_per_ul", "bead_events"):
        assert doc[key] == getattr(ref, key)
    assert doc["thresholds"] == ref.thresholds.as_dict()
    assert set(doc["thresholds"]) == {"cd4", "cd4_isotype", "cd25", "cd127"}
    assert doc["beads_per_tube"] == 52_000 and doc["blood_volume_ul"] == 50.0
    assert doc["cd4_per_ul"] == pytest.approx(
        doc["cd4_events"] / doc["bead_events"] * 52_000 / 50, rel=1e-12)


def test_treg_table_plot_and_gatingml(pair, tmp_path: Path) -> None:
    png, xml = tmp_path / "g.png", tmp_path / "g.xml"
    r = runner.invoke(app, ["flow", "treg", str(pair.stained_path), str(pair.isotype_path),
                            "--beads", "52000", "--volume-ul", "50", "--plot", str(png),
                            "--gatingml", str(xml)], env=WIDE)
    assert r.exit_code == 0, r.output
    assert "Treg % of CD4+" in r.output and "CD25 threshold (isotype 99.5th pct)" in r.output
    assert "lymphocytes" in r.output  # the gates table
    assert png.read_bytes()[:4] == b"\x89PNG" and xml.read_text().startswith("<?xml")


def test_treg_errors_name_the_file(tmp_path: Path, pair) -> None:
    missing = tmp_path / "nope.fcs"
    r = runner.invoke(app, ["flow", "treg", str(missing), str(pair.isotype_path),
                            "--beads", "50000"])
    assert r.exit_code == 1
    assert f"saatrial flow treg: {missing}: file not found" in r.output


def test_batch_usage_errors_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "m.csv"
    bad.write_text("subject_id,sample_date\nS1,2014-01-01\n")
    r = runner.invoke(app, ["flow", "batch", str(bad), "--out", str(tmp_path / "o")], env=WIDE)
    assert r.exit_code == 2
    assert "m.csv:1: stained_file: required_column: missing" in r.output
    assert not (tmp_path / "o").exists()
    full = tmp_path / "out"
    full.mkdir()
    (full / "x").write_text("x")
    good = tmp_path / "g.csv"
    good.write_text("subject_id,sample_date,stained_file,isotype_file,beads_per_tube,"
                    "blood_volume_ul\nS1,2014-01-01,a.fcs,b.fcs,50000,50\n")
    r = runner.invoke(app, ["flow", "batch", str(good), "--out", str(full)], env=WIDE)
    assert r.exit_code == 2 and "use --force" in r.output


def test_import_refusal_exits_1(tmp_path: Path) -> None:
    study = load_bundled_study().write_csv(tmp_path / "study")
    res = tmp_path / "r.csv"
    res.write_text("subject_id,sample_date,cd3cd4_pct,cd3cd8_pct,treg_pct_of_cd4,cd4_per_ul,"
                   "treg_per_ul,method\nNOBODY,2014-01-01,,,5,100,5,FLOW\n")
    r = runner.invoke(app, ["flow", "import", str(res), str(study)], env=WIDE)
    assert r.exit_code == 1
    assert "refused, nothing written" in r.output
    assert "r.csv:2: subject_id: references subjects.subject_id: NOBODY" in r.output


def test_synth_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep.txt").write_text("x")
    r = runner.invoke(app, ["flow", "synth", str(tmp_path / "d"), "--samples", "1",
                            "--broken", "0"])
    assert r.exit_code == 2 and "use --force" in r.output
