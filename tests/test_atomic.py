"""saatrial.atomic: files and folders are replaced whole or not at all, with no temp left."""

from __future__ import annotations

import doctest
import os
import stat
from pathlib import Path

import pytest

import saatrial.atomic as atomic
from saatrial.atomic import (
    building_folder,
    swap_folder_in,
    write_bytes_atomic,
    write_file_atomic,
    write_folder_atomic,
)


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path below ``root`` (hidden ones too) -> file bytes, None for folders."""
    return {
        str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def test_examples_run() -> None:
    result = doctest.testmod(atomic)
    assert result.attempted > 0 and result.failed == 0


# --- files ---------------------------------------------------------------------------------
def test_file_refused_when_it_exists_unless_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    write_bytes_atomic(target, b"new", overwrite=True)
    assert _tree(tmp_path) == {"a.txt": b"new"}


def test_file_needs_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_bytes_atomic(tmp_path / "no" / "a.txt", b"x")
    assert _tree(tmp_path) == {}


def test_failing_writer_keeps_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")

    def half(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_file_atomic(target, half, overwrite=True)
    assert _tree(tmp_path) == {"a.txt": b"old"}


def test_file_mode_follows_umask_not_mkstemp(tmp_path: Path, umask_027) -> None:
    # mkstemp creates 0o600; a written file must look like one written with open()
    path = write_bytes_atomic(tmp_path / "a.txt", b"x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


# --- folders -------------------------------------------------------------------------------
def test_building_folder_creates_parent_and_sets_folder_mode(tmp_path: Path, umask_027) -> None:
    target = tmp_path / "deep" / "out"
    with building_folder(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".out.")
        (tmp / "a.txt").write_bytes(b"a")
    assert _tree(tmp_path) == {"deep": None, "deep/out": None, "deep/out/a.txt": b"a"}
    assert stat.S_IMODE(target.stat().st_mode) == 0o750  # mkdtemp would give 0o700


def test_building_folder_replaces_existing_folder_whole(tmp_path: Path) -> None:
    target = tmp_path / "out"
    (target / "sub").mkdir(parents=True)
    (target / "sub" / "old.txt").write_bytes(b"old")
    with building_folder(target) as tmp:
        (tmp / "new.txt").write_bytes(b"new")
    assert _tree(tmp_path) == {"out": None, "out/new.txt": b"new"}


def test_building_folder_replaces_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_bytes(b"a file")
    with building_folder(target) as tmp:
        (tmp / "new.txt").write_bytes(b"new")
    assert _tree(tmp_path) == {"out": None, "out/new.txt": b"new"}


def test_building_folder_failing_block_leaves_target_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_bytes(b"old")
    before = _tree(tmp_path)
    with pytest.raises(RuntimeError, match="boom"), building_folder(target) as tmp:
        (tmp / "new.txt").write_bytes(b"new")
        raise RuntimeError("boom")
    assert _tree(tmp_path) == before


def test_swap_restores_old_folder_when_the_second_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, new = tmp_path / "out", tmp_path / "new"
    target.mkdir()
    (target / "old.txt").write_bytes(b"old")
    new.mkdir()
    (new / "new.txt").write_bytes(b"new")
    real = os.rename
    calls: list[tuple[str, str]] = []

    def rename(src: str, dst: str) -> None:
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) == 2:  # old aside worked; new into place fails
            raise OSError("rename failed")
        real(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="rename failed"):
        swap_folder_in(new, target)
    assert [c[1] for c in calls][1:] == ["out", "out"]  # tried new -> out, then old -> out
    assert _tree(tmp_path) == {
        "new": None, "new/new.txt": b"new", "out": None, "out/old.txt": b"old"
    }


def test_folder_refused_when_not_empty_and_keeps_foreign_files(tmp_path: Path) -> None:
    target = write_folder_atomic(tmp_path / "s", {"a.csv": b"1\n"})
    (target / "PROVENANCE.md").write_bytes(b"kept")
    (target / "notes").mkdir()
    (target / "notes" / "n.txt").write_bytes(b"n")
    with pytest.raises(FileExistsError, match=r"not empty; pass overwrite=True \(CLI: --force\)"):
        write_folder_atomic(target, {"a.csv": b"2\n"})
    write_folder_atomic(target, {"a.csv": b"2\n", "b.csv": b"3\n"}, overwrite=True)
    assert _tree(tmp_path) == {
        "s": None,
        "s/PROVENANCE.md": b"kept",
        "s/a.csv": b"2\n",
        "s/b.csv": b"3\n",
        "s/notes": None,
        "s/notes/n.txt": b"n",
    }


def test_folder_refuses_file_target_and_sub_folder_names(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"file")
    with pytest.raises(FileExistsError, match="is not a folder"):
        write_folder_atomic(tmp_path / "f", {"a.csv": b""}, overwrite=True)
    with pytest.raises(ValueError, match="must not contain a folder"):
        write_folder_atomic(tmp_path / "s", {"a.csv": b"", "x/b.csv": b""})
    assert _tree(tmp_path) == {"f": b"file"}
