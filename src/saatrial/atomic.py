"""Write files and folders so that a target is never left half-written.

A bottom-layer utility: it imports nothing of saatrial, so every layer
(``study``, ``protocol``, ``derive``, ``cytometry``, ``report``, ...) may use it.

Everything is first written to a temporary sibling of the target (same
filesystem, so the final rename is atomic) and then renamed into place:

- a file is replaced atomically with :func:`os.replace`
  (:func:`write_file_atomic`, :func:`write_bytes_atomic`);
- a folder is built in a temporary sibling folder (:func:`building_folder`)
  and swapped in (:func:`swap_folder_in`): a folder that does not exist yet
  appears with one rename; an existing one is renamed aside, the new one
  renamed into place (the old one is put back if that fails) and the old one
  removed;
- :func:`write_folder_atomic` writes a folder of files given as bytes that
  way; files of an existing folder that are not being written (e.g.
  ``PROVENANCE.md``) are carried over. Without ``overwrite`` a non-empty
  existing folder is refused with :class:`FileExistsError`.

Temporary files and folders are named ``.<target name>.<random>.tmp`` and are
removed when anything fails; the final file or folder gets the ordinary
permissions of the process umask (``tempfile`` creates them private).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

__all__ = [
    "building_folder",
    "current_umask",
    "swap_folder_in",
    "write_bytes_atomic",
    "write_file_atomic",
    "write_folder_atomic",
]


def current_umask() -> int:
    """The process umask (read without changing it for longer than one call).

    Returns
    -------
    int
        The umask bits, e.g. ``0o022``.

    Examples
    --------
    >>> 0 <= current_umask() <= 0o777
    True
    """
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

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    FileExistsError
        ``target`` exists and ``overwrite`` is false.
    FileNotFoundError
        The folder of ``target`` does not exist.

    Examples
    --------
    >>> import tempfile
    >>> p = write_file_atomic(Path(tempfile.mkdtemp()) / "a.txt", lambda t: t.write_text("x"))
    >>> p.read_text(), sorted(q.name for q in p.parent.iterdir())
    ('x', ['a.txt'])
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
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return target


def write_bytes_atomic(target: Path, data: bytes, overwrite: bool = False) -> Path:
    """Write ``data`` as the file ``target`` via :func:`write_file_atomic`.

    Parameters
    ----------
    target : Path
        Final file path; its folder must exist.
    data : bytes
        The complete content.
    overwrite : bool
        Replace an existing ``target`` (atomically); otherwise refuse.

    Returns
    -------
    Path
        ``target``.

    Examples
    --------
    >>> import tempfile
    >>> p = write_bytes_atomic(Path(tempfile.mkdtemp()) / "a.bin", b"\\x00\\x01")
    >>> write_bytes_atomic(p, b"new", overwrite=True).read_bytes()
    b'new'
    """

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            handle.write(data)

    return write_file_atomic(target, write, overwrite=overwrite)


def _remove(path: Path) -> None:
    """Remove a file, link or folder tree, ignoring errors (a left-over is only clutter)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def swap_folder_in(tmp: Path, target: Path) -> None:
    """Rename the finished folder ``tmp`` onto ``target``, replacing what is there.

    A missing ``target`` is created by one rename. An existing ``target`` is
    renamed aside, ``tmp`` renamed into place (if that fails the old
    ``target`` is put back and the error raised) and the old one removed.

    Parameters
    ----------
    tmp : Path
        The complete new folder, on the same filesystem as ``target``.
    target : Path
        The folder (or, for callers that allow it, file) to create or replace.

    Examples
    --------
    >>> import tempfile
    >>> base = Path(tempfile.mkdtemp())
    >>> (base / "out").mkdir(); _ = (base / "out" / "old.txt").write_text("old")
    >>> (base / "new").mkdir(); _ = (base / "new" / "new.txt").write_text("new")
    >>> swap_folder_in(base / "new", base / "out")
    >>> sorted(str(p.relative_to(base)) for p in base.rglob("*"))
    ['out', 'out/new.txt']
    """
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        os.rmdir(old)
        os.rename(target, old)
        try:
            os.rename(tmp, target)
        except BaseException:
            os.rename(old, target)
            raise
        _remove(old)
    else:
        os.rename(tmp, target)


@contextlib.contextmanager
def building_folder(target: Path) -> Iterator[Path]:
    """Build a folder in a temporary sibling of ``target``; swap it in when the block ends.

    The parent of ``target`` is created if needed. When the ``with`` block
    completes, the temporary folder gets the ordinary permissions of the
    umask and replaces ``target`` (:func:`swap_folder_in`); when the block
    raises, the temporary folder is removed and ``target`` is left as it was.
    Whether an existing ``target`` may be replaced is the caller's check,
    made before the block.

    Parameters
    ----------
    target : Path
        The folder to create or replace.

    Yields
    ------
    Path
        The empty temporary folder to write into.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out"
    >>> with building_folder(target) as tmp:
    ...     _ = (tmp / "a.txt").write_text("a")
    >>> sorted(p.name for p in target.parent.iterdir()), (target / "a.txt").read_text()
    (['out'], 'a')
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~current_umask())
        swap_folder_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    FileExistsError
        ``target`` is a non-empty folder and ``overwrite`` is false, or is a file.
    ValueError
        A file name contains a folder (nothing is written).

    Examples
    --------
    >>> import tempfile
    >>> out = write_folder_atomic(Path(tempfile.mkdtemp()) / "s", {"a.csv": b"x\\n"})
    >>> _ = (out / "KEEP.md").write_text("kept")
    >>> out = write_folder_atomic(out, {"a.csv": b"y\\n"}, overwrite=True)
    >>> sorted(p.name for p in out.iterdir()), (out / "a.csv").read_bytes()
    (['KEEP.md', 'a.csv'], b'y\\n')
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a folder")
    existing = sorted(target.iterdir()) if target.is_dir() else []
    if existing and not overwrite:
        raise FileExistsError(
            f"folder {target} is not empty; pass overwrite=True (CLI: --force) to replace it"
        )
    with building_folder(target) as tmp:
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
    return target
