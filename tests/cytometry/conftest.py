"""Fixtures of the cytometry tests: the real FCS files in ../shared/data/fcs and synthetic pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Real instrument files (see their README); never copied into the repository.
FCS_DIR = Path(__file__).resolve().parents[2].parent / "shared/data/fcs"


@pytest.fixture(scope="session")
def fcs_dir() -> Path:
    if not FCS_DIR.is_dir():
        pytest.skip(f"real FCS files not found at {FCS_DIR} (../shared/data/fcs is absent)")
    return FCS_DIR


@pytest.fixture(scope="session")
def synthetic_pair(tmp_path_factory: pytest.TempPathFactory):
    """One default synthetic sample (stained + isotype), shared by several tests."""
    from saatrial.cytometry.synthetic import SyntheticSpec, write_synthetic_pair

    return write_synthetic_pair(tmp_path_factory.mktemp("pair"), SyntheticSpec(seed=42), "S42")
