from __future__ import annotations

import pathlib

import pytest


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """One mypy cache for the session: the package is analysed once, not per run."""
    return tmp_path_factory.mktemp("mypy-cache")
