"""Fixtures for the derive tests: the bundled study's datasets and a small-study builder."""

from __future__ import annotations

import pytest

from saatrial.study import StudyData, load_bundled_study

from ._builder import Builder


@pytest.fixture
def builder() -> Builder:
    return Builder()


@pytest.fixture(scope="session")
def bundled_study() -> StudyData:
    return load_bundled_study()


@pytest.fixture(scope="session")
def bundled(bundled_study):
    from saatrial.derive import derive_all

    return derive_all(bundled_study)
