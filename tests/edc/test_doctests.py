"""The Examples sections of the eCRF modules run (Django is set up by conftest.py)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "saatrial.edc.dburl",
    "saatrial.edc.audit.chain",
    "saatrial.edc.audit.context",
    "saatrial.edc.audit.triggers",
    "saatrial.edc.audit.verify",
    "saatrial.edc.accounts.roles",
    "saatrial.edc.accounts.lockout",
    "saatrial.edc.trial.fields",
    "saatrial.edc.server",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
