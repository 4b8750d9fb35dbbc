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
