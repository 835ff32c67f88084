"""Shared test fixtures: paths to the repository and to ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found at {SHARED}: spec and data files are absent")
    return SHARED


@pytest.fixture(scope="session")
def published_results(shared_dir: Path) -> dict:
    import yaml

    path = shared_dir / "spec" / "published_results.yaml"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return yaml.safe_load(path.read_text(encoding="utf-8"))
