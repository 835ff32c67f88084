"""scripts/make_bundled_study.py regenerates the committed bundled study bit for bit."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "make_bundled_study.py"
BUNDLED = REPO / "src" / "saatrial" / "study" / "bundled" / "nct02218437"


def run_generator(out: Path) -> None:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def load_script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import the script as a module (registered only for the duration of the test)."""
    spec = importlib.util.spec_from_file_location("make_bundled_study", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_bundled_study", module)  # dataclasses need it
    spec.loader.exec_module(module)
    return module


def test_generator_reproduces_committed_folder_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "nct02218437"
    run_generator(out)
    generated, committed = folder_bytes(out), folder_bytes(BUNDLED)
    assert sorted(generated) == sorted(committed)
    differing = [name for name in generated if generated[name] != committed[name]]
    assert not differing, f"regenerate with: python {SCRIPT.relative_to(REPO)}"


def test_generator_replaces_an_existing_folder(tmp_path: Path) -> None:
    out = tmp_path / "study"
    out.mkdir()
    (out / "stale.csv").write_text("old\n", encoding="utf-8")
    run_generator(out)
    assert not (out / "stale.csv").exists()
    assert folder_bytes(out) == folder_bytes(BUNDLED)
    assert [p.name for p in tmp_path.iterdir()] == ["study"], "no temporary folder left behind"


def test_generator_self_check_rejects_an_inconsistent_response(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Recording PR for a day-90 non-responder must be refused (TRIAL.md 4)."""
    module = load_script(monkeypatch)
    module.check_tables()  # the committed tables are consistent
    visits = {sid: dict(v) for sid, v in module.VISITS.items()}
    day, _ = visits["MSC01"]["D90"]
    visits["MSC01"]["D90"] = (day, "PR")
    monkeypatch.setattr(module, "VISITS", visits)
    with pytest.raises(ValueError, match="MSC01 D90: recorded PR but the rules give NR"):
        module.check_tables()


def test_generator_self_check_rejects_transfusion_after_death(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load_script(monkeypatch)
    schedule = dict(module.TRANSFUSIONS)
    schedule["MSC06"] = {**schedule["MSC06"], "RBC": ((2, 170, 10),)}  # death on day 159
    monkeypatch.setattr(module, "TRANSFUSIONS", schedule)
    with pytest.raises(ValueError, match="MSC06: transfusion on day 162 after day 159"):
        module.check_tables()
