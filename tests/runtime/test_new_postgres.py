"""new_postgres, the README's door onto PostgreSQL, against the tests' server (tests/stores.py)."""
import os
import socket
import sys
import time

import pytest

from deepslate import new_postgres, spawn_workers
from deepslate.store import PostgresStore, StoreUnavailable
from stores import PG_URL

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "flowmods"))
import doorflows as df  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def test_the_readme_call_runs_its_counter(pg_store):
    # as the seed README prints it, but on any free port (8765 may be taken on a shared machine)
    platform, _ = new_postgres(1, PG_URL, "127.0.0.1:0", 100, 100, 5, schema=pg_store.schema)
    pg_store.stores.append(platform.store)
    assert isinstance(platform.store, PostgresStore)
    assert (platform.node_id, platform.commit_batch, platform.lease_seconds) == ("1", 100, 5.0)
    assert (platform.store.pool_size, platform.store.lease_seconds) == (100, 5.0)
    spawn_fn, _, _, stop = spawn_workers(4, platform, [df.counter()])
    platform.engine.time_scale = 0.001
    try:
        assert spawn_fn("my-counter", "counter", {}) == (1, False)
        deadline = time.monotonic() + 20
        while platform.store.get_isolate("my-counter").steps < 20:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        row = platform.store.get_isolate("my-counter")
        assert (row.owner, row.status) == ("1", "sleeping")
        assert pg_store.sql("SELECT node_id FROM nodes") == [("1",)]
    finally:
        stop()


@pytest.mark.parametrize("args, kw, error, message", [
    ((True, PG_URL), {}, TypeError, "node_id must be an int or a non-empty str"),
    (("", PG_URL), {}, TypeError, "node_id must be"),
    ((1, PG_URL, "nohost"), {}, ValueError, "host:port"),
    ((1, PG_URL, "127.0.0.1:0", 10, 0), {}, ValueError, "commit_batch must be an int of at least 1"),
    ((1, PG_URL, "127.0.0.1:0", 10, 10, 0), {}, ValueError, "lease_seconds must be a positive number"),
    ((1, PG_URL, "127.0.0.1:0", 0), {}, ValueError, "pool_size must be an int of at least 1"),
    ((1, "sqlite:///x.db"), {}, ValueError, "postgres:// or postgresql:// URL"),
    ((1, PG_URL), {"http_policy": {"retries": 1}}, TypeError, "deepslate.HttpPolicy"),
])
def test_bad_arguments_are_clear_errors(args, kw, error, message):
    with pytest.raises(error, match=message):
        new_postgres(*args, **kw)


def test_an_unreachable_server_is_a_clear_error_naming_the_url_without_its_password():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgres://postgres:hunter22@127.0.0.1:{port}/postgres?sslmode=disable"
    with pytest.raises(StoreUnavailable, match=rf"postgres://postgres:\*\*\*@127.0.0.1:{port}/postgres") as e:
        new_postgres(1, url, "127.0.0.1:0", 100, 100, 5)
    assert "hunter22" not in str(e.value)


def test_a_stopped_platform_says_to_open_the_store_again_with_new_postgres(pg_store):
    platform, _ = new_postgres("n1", PG_URL, "127.0.0.1:0", schema=pg_store.schema)
    pg_store.stores.append(platform.store)
    spawn, wait, cancel, stop = spawn_workers(1, platform, [df.add])
    spawn("a", "add", {"a": 1, "b": 2})
    assert wait("a", timeout=10) == 3
    stop()
    with pytest.raises(RuntimeError, match=r"Open the store again with new_postgres\('n1', 'postgres"):
        spawn_workers(1, platform, [df.add])
    platform, _ = new_postgres("n1", PG_URL, "127.0.0.1:0", schema=pg_store.schema)      # as it says
    pg_store.stores.append(platform.store)
    spawn, wait, cancel, stop = spawn_workers(1, platform, [df.add])
    assert wait("a", timeout=10) == 3
    stop()
