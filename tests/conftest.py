import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))


@pytest.fixture
def store(tmp_path):
    """A fresh SQLite store in the test's directory, closed at teardown."""
    from deepslate.store import SQLiteStore
    s = SQLiteStore(str(tmp_path / "s.db"))
    yield s
    s.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_kind(request):
    """Each test using it runs once on SQLite and once on PostgreSQL (tests/stores.py)."""
    return request.param


@pytest.fixture
def any_store(store_kind, tmp_path):
    """The test's store of ``store_kind``: ``any_store.open()``, ``.platform()``, ``.sql()``."""
    from stores import StoreUnderTest
    s = StoreUnderTest(store_kind, tmp_path)
    yield s
    s.close()


@pytest.fixture
def pg_store(tmp_path):
    """A PostgreSQL store of the test's own (a fresh schema), for what only PostgreSQL has."""
    from stores import StoreUnderTest
    s = StoreUnderTest("postgres", tmp_path)
    yield s
    s.close()
