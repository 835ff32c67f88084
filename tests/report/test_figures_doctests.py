"""The Examples sections of the figure modules run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "saatrial.report.figures",
    "saatrial.report.figures.style",
    "saatrial.report.figures.common",
    "saatrial.report.figures.blood_counts",
    "saatrial.report.figures.tcells",
    "saatrial.report.figures.survival",
    "saatrial.report.figures.swimmer",
    "saatrial.report.figures.consort",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
