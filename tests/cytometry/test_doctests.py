"""The Examples sections of the cytometry modules run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "saatrial.cytometry.autogate",
    "saatrial.cytometry.compensation",
    "saatrial.cytometry.errors",
    "saatrial.cytometry.fcs",
    "saatrial.cytometry.fcs_writer",
    "saatrial.cytometry.gates",
    "saatrial.cytometry.panel",
    "saatrial.cytometry.synthetic",
    "saatrial.cytometry.transforms",
    "saatrial.cytometry.treg",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
