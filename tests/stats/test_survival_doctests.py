"""The Examples sections of the survival modules run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "saatrial.stats._survival_km",
    "saatrial.stats._survival_logrank",
    "saatrial.stats._survival_exact",
    "saatrial.stats._survival_cif",
    "saatrial.stats._survival_input",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
