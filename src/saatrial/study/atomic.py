"""Write files and folders so that a target is never left half-written.

Everything is first written to a temporary sibling of the target (same
filesystem) and then renamed into place:

- a file is replaced atomically with :func:`os.replace`;
- a folder that does not exist yet appears atomically with one rename;
- an existing folder is replaced only when ``overwrite=True``: the new folder
  is completed beside it (files of the old folder that are not being written,
  e.g. ``PROVENANCE.md``, are copied over), then the old folder is renamed
  aside, the new one renamed into place and the old one removed. If the
  second rename fails, the old folder is put back. Without ``overwrite`` a
  non-empty existing folder is refused with :class:`FileExistsError`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["write_file_atomic", "write_folder_atomic"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_file_atomic(target: Path, write: Callable[[Path], None], overwrite: bool = False) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``target``.

    Parameters
    ----------
    target : Path
        Final file path; its folder must exist.
    write : callable
        Writes the complete content to the path it is given.
    overwrite : bool
        Replace an existing ``target`` (atomically); otherwise refuse.

    Raises
    ------
    FileExistsError
        ``target`` exists and ``overwrite`` is false.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"folder {target.parent} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return target


def write_folder_atomic(target: Path, files: Mapping[str, bytes], overwrite: bool = False) -> Path:
    """Write ``files`` (name -> bytes) as the folder ``target``, all or nothing.

    Parameters
    ----------
    target : Path
        Folder to create or replace.
    files : Mapping[str, bytes]
        File names (no sub-folders) and their complete content.
    overwrite : bool
        Replace a non-empty existing folder; files in it that are not in
        ``files`` are kept. An empty existing folder is always replaced.

    Raises
    ------
    FileExistsError
        ``target`` is a non-empty folder and ``overwrite`` is false, or is a file.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a folder")
    existing = sorted(target.iterdir()) if target.is_dir() else []
    if existing and not overwrite:
        raise FileExistsError(
            f"folder {target} is not empty; pass overwrite=True (CLI: --force) to replace it"
        )
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    try:
        for item in existing:
            if item.name in files:
                continue
            if item.is_dir() and not item.is_symlink():
                shutil.copytree(item, tmp / item.name, symlinks=True)
            else:
                shutil.copy2(item, tmp / item.name, follow_symlinks=False)
        for name, content in files.items():
            if Path(name).name != name:
                raise ValueError(f"file name {name!r} must not contain a folder")
            (tmp / name).write_bytes(content)
        os.chmod(tmp, 0o777 & ~_umask())
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            os.rmdir(old)
            os.rename(target, old)
            try:
                os.rename(tmp, target)
            except BaseException:
                os.rename(old, target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
