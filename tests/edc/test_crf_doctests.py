"""The Examples sections of the eCRF page modules run (Django is set up by conftest.py)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "saatrial.edc.crf.plausibility",
    "saatrial.edc.crf.visits",
    "saatrial.edc.crf.summary",
    "saatrial.edc.crf.forms",
    "saatrial.edc.queries.workflow",
    "saatrial.edc.signatures.content",
    "saatrial.edc.signatures.service",
    "saatrial.edc.exports.service",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
