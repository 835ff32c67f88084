"""Entry point of ``make bench``: run every ``benchmarks/bench_*.py`` and write one table.

Each benchmark module provides ``run() -> list[dict]`` (one dict per table
row; keys are column names) and may provide ``notes(rows) -> str`` (markdown
printed under its table, e.g. whether targets were met). The first line of
the module docstring is the section title.

The combined markdown goes to ``benchmarks/results/latest.md`` (written to a
temporary file first, then renamed) and is printed; a run restricted with
``--only`` writes ``benchmarks/results/only-<ONLY>.md`` instead.

Usage::

    .venv/bin/python benchmarks/run.py                    # everything
    .venv/bin/python benchmarks/run.py --only survival    # modules whose name contains it
    .venv/bin/python benchmarks/run.py --sizes 1e5,1e6    # sets SAATRIAL_BENCH_SIZES
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import platform
import sys
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "latest.md"


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value == 0 or 1e-3 <= abs(value) < 1e6:
            return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
        return f"{value:.3e}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """Render rows (dicts) as a GitHub markdown table; columns in first-seen order."""
    if not rows:
        return "_(no rows)_\n"
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _environment() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for name in ("numpy", "scipy", "pandas", "statsmodels", "lifelines"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return (
        f"- date: {dt.datetime.now().isoformat(timespec='seconds')}\n"
        f"- python {platform.python_version()}; {'; '.join(versions)}\n"
        f"- cpu: {cpu}; {os.cpu_count()} logical cores; "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}\n"
    )


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only modules whose file name contains this")
    parser.add_argument("--sizes", help="comma-separated N values, e.g. 1e5,1e6")
    parser.add_argument(
        "--out",
        type=Path,
        help="markdown output file (default: results/latest.md, or results/only-<ONLY>.md "
        "with --only, so that a partial run does not replace the full table)",
    )
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = HERE / "results" / f"only-{args.only}.md" if args.only else DEFAULT_OUT
    if args.sizes:
        os.environ["SAATRIAL_BENCH_SIZES"] = args.sizes

    paths = sorted(HERE.glob("bench_*.py"))
    if args.only:
        paths = [p for p in paths if args.only in p.stem]
    if not paths:
        print("no benchmark modules matched", file=sys.stderr)
        return 1
    parts = ["# saatrial benchmarks\n", _environment()]
    for path in paths:
        module = _load(path)
        title = (module.__doc__ or path.stem).strip().splitlines()[0]
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        rows = module.run()
        parts.append(f"\n## {title}\n\n")
        parts.append(markdown_table(rows))
        if hasattr(module, "notes"):
            parts.append("\n" + module.notes(rows).rstrip() + "\n")
    text = "".join(parts)
    write_atomic(args.out, text)
    print(text)
    print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
