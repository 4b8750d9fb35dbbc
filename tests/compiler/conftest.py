"""Options for the compiler tests.

``--update-golden`` rewrites the golden disassembly files beside the corpus instead of comparing
against them (pytest reads this option only when tests/compiler is on the command line, e.g.
``pytest tests/compiler/test_golden.py --update-golden``; ``DEEPSLATE_UPDATE_GOLDEN=1`` works from
anywhere).
"""
from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/compiler/testdata/corpus/*.dis from the current compiler")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden", default=False)) or \
        os.environ.get("DEEPSLATE_UPDATE_GOLDEN") == "1"
