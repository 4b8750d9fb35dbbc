"""What only the PostgreSQL store has: URLs and their errors, the pool, migrations under an
advisory lock, schemas, values a PostgreSQL column refuses, the driver as an extra.

Against the real server of ``DEEPSLATE_TEST_PG`` (tests/stores.py); a wrong password against a
throwaway server that asks for one (scripts/pg-server), since the tests' server may trust 127.0.0.1."""
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import pytest

from deepslate.store import (Commit, DriverMissing, IsolateRow, LeaseLost, NotADeepslateStore, StoreError,
                             StoreReadOnly, StoreUnavailable)
from deepslate.store.base import CommitRejected
from deepslate.store.migrations import migrations
from stores import PG_URL, StoreUnderTest, pg_admin

ROOT = pathlib.Path(__file__).resolve().parents[2]
NODE = "local"


@pytest.fixture
def pg(pg_store):
    return pg_store


def url_with(**changes):
    """PG_URL with its user part, password, port, database or query changed."""
    u = urllib.parse.urlsplit(PG_URL)
    user = changes.get("user", u.username or "postgres")
    password = changes.get("password", u.password)
    host = u.hostname or "127.0.0.1"
    port = changes.get("port", u.port or 5432)
    db = changes.get("database", u.path.lstrip("/") or "postgres")
    query = changes.get("query", u.query)
    scheme = changes.get("scheme", u.scheme)
    cred = user + (f":{password}" if password else "")
    return urllib.parse.urlunsplit((scheme, f"{cred}@{host}:{port}", f"/{db}", query, ""))


def spawn(id, name, **kw):
    row = IsolateRow(id=id, name=name, flow="f", program_hash=b"h" * 32, snapshot=b"snap", **kw)
    return Commit(id, "running", b"snap", 0, create=row)


def test_the_driver_is_psycopg_with_its_c_extension():
    import psycopg
    assert psycopg.pq.__impl__ == "c", f"psycopg runs its {psycopg.pq.__impl__} implementation"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_both_url_schemes_with_query_parameters_open(pg, scheme):
    from deepslate.store import PostgresStore
    s = PostgresStore(url_with(scheme=scheme, query="sslmode=disable&application_name=dstest"), schema=pg.schema)
    try:
        assert s.schema_version() == len(migrations("postgres"))
        assert s.path.startswith(f"{scheme}://") and "sslmode=disable" in s.path
    finally:
        s.close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_server_that_is_down_is_a_clear_error_without_the_password(pg):
    from deepslate.store import PostgresStore
    url = url_with(port=free_port(), password="s3cret-pw", query="sslmode=disable")
    t = time.monotonic()
    with pytest.raises(StoreUnavailable) as e:
        PostgresStore(url, schema=pg.schema)
    msg = str(e.value)
    assert "cannot be reached" in msg and "postgres:***@127.0.0.1" in msg and "sslmode=disable" in msg, msg
    assert "s3cret-pw" not in msg
    assert time.monotonic() - t < 10


def test_a_missing_database_is_a_clear_error_without_the_password(pg):
    from deepslate.store import PostgresStore
    name = f"nosuchdb_{uuid.uuid4().hex[:10]}"
    with pytest.raises(StoreUnavailable) as e:
        PostgresStore(url_with(database=name, password="s3cret-pw"), schema=pg.schema)
    msg = str(e.value)
    assert f"the database '{name}' does not exist" in msg and "postgres:***@" in msg, msg
    assert "s3cret-pw" not in msg


def test_a_wrong_password_is_a_clear_error_without_the_password():
    # the tests' server may trust 127.0.0.1 (any password goes): a throwaway one that asks. Its
    # directory is the script's default under /tmp: the postgres user cannot enter pytest's.
    from deepslate.store import PostgresStore
    port = free_port()
    r = subprocess.run([str(ROOT / "scripts" / "pg-server"), "start", "--port", str(port),
                        "--auth", "scram-sha-256", "--password", "right-pw-42"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"cannot start a PostgreSQL server that asks for a password: {r.stderr}"
    try:
        wrong = f"postgres://postgres:wrong-pw-17@127.0.0.1:{port}/postgres?sslmode=disable"
        with pytest.raises(StoreUnavailable) as e:
            PostgresStore(wrong)
        msg = str(e.value)
        assert "refused the user name or password" in msg and "postgres:***@127.0.0.1" in msg, msg
        assert "wrong-pw-17" not in msg
        with pytest.raises(StoreUnavailable, match="refused the user name or password"):
            PostgresStore(f"postgres://nobody:right-pw-42@127.0.0.1:{port}/postgres")
        right = PostgresStore(wrong.replace("wrong-pw-17", "right-pw-42"))      # the same URL, right password
        assert right.schema_version() == len(migrations("postgres"))
        right.close()
    finally:
        subprocess.run([str(ROOT / "scripts" / "pg-server"), "stop", "--port", str(port)], timeout=120)


@pytest.mark.parametrize("url, message", [
    ("mysql://root@localhost/db", "postgres:// or postgresql:// URL"),
    ("localhost:5432", "postgres:// or postgresql:// URL"),
    ("postgresql://u:pw@h/db?nosuchoption=1", "cannot be read"),
])
def test_a_url_that_is_not_postgresql_is_refused(url, message):
    from deepslate.store import PostgresStore
    with pytest.raises(ValueError, match=message) as e:
        PostgresStore(url)
    assert ":pw@" not in str(e.value)


def test_redact_hides_every_password():
    from deepslate.store.postgres import redact
    assert redact("postgres://u:p%40ss@h:1/d?sslmode=disable") == "postgres://u:***@h:1/d?sslmode=disable"
    assert redact("postgresql://u@h/d?password=pw&x=1") == "postgresql://u@h/d?password=***&x=1"
    assert redact("postgresql://h/d") == "postgresql://h/d"


@pytest.mark.parametrize("kw, message", [
    ({"schema": "Public"}, "schema must be a lower-case SQL name"),
    ({"schema": "x; drop table y"}, "schema must be"),
    ({"pool_size": 0}, "pool_size must be an int of at least 1"),
    ({"lease_seconds": 0}, "lease_seconds must be positive"),
])
def test_bad_settings_are_clear_errors(kw, message):
    from deepslate.store import PostgresStore
    with pytest.raises(ValueError, match=message):
        PostgresStore(PG_URL, **kw)


def test_a_schema_holding_other_tables_is_not_a_store(pg):
    from deepslate.store import PostgresStore
    admin = pg_admin()
    try:
        admin.execute(f"CREATE SCHEMA {pg.schema}")
        admin.execute(f"CREATE TABLE {pg.schema}.customers (id int)")
    finally:
        admin.close()
    with pytest.raises(NotADeepslateStore, match=f"schema '{pg.schema}' .* not a deepslate store .*customers"):
        PostgresStore(PG_URL, schema=pg.schema)
    assert pg.sql("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()") == [("customers",)]


def test_a_failed_migration_does_not_bump_the_version(pg, monkeypatch):
    from deepslate.store import postgres as pgs
    pg.open().close()
    real = migrations("postgres")
    monkeypatch.setattr(pgs._migrations, "migrations",
                        lambda backend: real + ["CREATE TABLE extra (x INTEGER);\nCREATE TABLE broken (;"])
    with pytest.raises(StoreError, match="syntax error"):
        pg.open()
    monkeypatch.undo()
    assert pg.open().schema_version() == len(real)
    assert pg.sql("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'extra'") == [(0,)]


def test_a_read_only_server_is_refused_at_open(pg):
    from deepslate.store import PostgresStore
    pg.open().close()
    ro = url_with(query="options=-c%20default_transaction_read_only%3Don")
    with pytest.raises(StoreReadOnly, match="read-only"):
        PostgresStore(ro, schema=pg.schema)


OPENER = """
import sys
from deepslate.store import PostgresStore
s = PostgresStore(sys.argv[1], schema=sys.argv[2])
print(s.store_id(), s.schema_version())
s.close()
"""


def test_two_processes_opening_a_fresh_schema_at_once_migrate_it_once(pg):
    # while the test holds the migration lock, both openers wait and nothing is created; once
    # it lets go, one migrates and the other finds the schema migrated
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    admin = pg_admin()
    admin.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"deepslate migrate {pg.schema}",))
    procs = []
    try:
        procs = [subprocess.Popen([sys.executable, "-c", OPENER, PG_URL, pg.schema], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
        deadline = time.monotonic() + 30
        while admin.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                            ).fetchone()[0] < 2:
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
                [p.communicate() for p in procs if p.poll() is not None]
            time.sleep(0.02)
        assert admin.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (pg.schema,)).fetchone()[0] == 0
    finally:
        admin.execute("SELECT pg_advisory_unlock_all()")
        admin.close()
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    lines = {out.strip() for out, _ in outs}
    assert len(lines) == 1, lines                       # one store id: the schema was made once
    assert lines.pop().split()[1] == str(len(migrations("postgres")))


def test_racing_openers_of_fresh_schemas_all_succeed(tmp_path):
    schemas = [StoreUnderTest("postgres", tmp_path) for _ in range(4)]
    errors = []

    def open_it(s):
        try:
            s.open()
        except Exception as e:        # pragma: no cover - the assertion below reports it
            errors.append(e)
    try:
        threads = [threading.Thread(target=open_it, args=(s,)) for s in schemas for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[0]
        for s in schemas:
            assert len({st.store_id() for st in s.stores}) == 1
    finally:
        for s in schemas:
            s.close()


def backends(application_name):
    admin = pg_admin()
    try:
        return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                             (application_name,)).fetchone()[0]
    finally:
        admin.close()


def test_the_pool_opens_connections_on_demand_up_to_its_size(pg):
    from deepslate.store import PostgresStore
    app = f"dstest_{uuid.uuid4().hex[:8]}"
    s = PostgresStore(url_with(query=f"application_name={app}"), schema=pg.schema, pool_size=100)
    pg.stores.append(s)
    assert backends(app) == 1          # not 100: a stock server's max_connections is 100
    s.close()
    small = PostgresStore(url_with(query=f"application_name={app}"), schema=pg.schema, pool_size=3)
    pg.stores.append(small)
    epoch = small.claim(NODE)
    small.commit_batch(NODE, epoch, [spawn(1, "a")])
    seen = []
    stop = time.monotonic() + 1.5

    def reader():
        while time.monotonic() < stop:
            assert small.get_isolate("a").name == "a"
            seen.append(backends(app))
    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 1 <= max(seen) <= 3, max(seen)


def test_text_postgresql_cannot_hold_fails_the_commit_only(pg):
    s = pg.open()
    epoch = s.claim(NODE)
    s.commit_batch(NODE, epoch, [spawn(1, "a")])
    with pytest.raises(CommitRejected, match=r"refused a value.*(NUL|0x00)"):
        s.commit_batch(NODE, epoch, [Commit(1, "waiting", b"new", 1, waiting_on="queue\x00get")])
    with pytest.raises(CommitRejected):
        s.commit_batch(NODE, epoch, [spawn(2, "nul\x00name")])
    assert s.get_isolate("a").snapshot == b"snap" and s.count_isolates() == {"running": 1}
    s.commit_batch(NODE, epoch, [Commit(1, "waiting", b"new", 1, waiting_on="queue get")])


def test_a_node_that_another_node_fenced_out_cannot_spawn_or_heartbeat(pg):
    # one node per store for now: a claim by node 2 takes every isolate and fences node 1 out,
    # its inserts too (they have no row to be fenced on)
    first, second = pg.open(), pg.open()
    e1 = first.claim("1")
    first.commit_batch("1", e1, [spawn(1, "a")])
    e2 = second.claim("2")
    with pytest.raises(LeaseLost, match="node '1' lost its lease"):
        first.commit_batch("1", e1, [spawn(2, "b")])
    with pytest.raises(LeaseLost):
        first.heartbeat("1", e1)
    with pytest.raises(LeaseLost, match="isolate 1 is not owned by node '1'"):
        first.mark_failed("1", e1, 1, "{}")
    assert [r.name for r in second.load_unfinished("2", e2)] == ["a"] and second.get_isolate("b") is None
    second.commit_batch("2", e2, [spawn(2, "b")])


def test_a_refused_value_from_a_fenced_out_node_is_its_lost_lease(pg):
    first, second = pg.open(), pg.open()
    e1 = first.claim("1")
    first.commit_batch("1", e1, [spawn(1, "a")])
    second.claim("2")
    # the duplicate id fails inside the pipeline before the fence is read
    with pytest.raises(LeaseLost):
        first.commit_batch("1", e1, [spawn(1, "again")])


def test_leases_are_on_the_servers_clock(pg):
    s = pg.open(lease_seconds=7)
    epoch = s.claim(NODE)
    (until, now), = pg.sql("SELECT lease_until, extract(epoch FROM clock_timestamp())::float8 FROM nodes")
    assert 6 < until - now <= 7
    s.heartbeat(NODE, epoch, 60)
    (until, now), = pg.sql("SELECT lease_until, extract(epoch FROM clock_timestamp())::float8 FROM nodes")
    assert 59 < until - now <= 60


def test_a_closed_store_says_so(pg):
    s = pg.open()
    s.close()
    with pytest.raises(StoreError, match="is closed"):
        s.get_isolate("a")


BLOCKER = """
import importlib.abc, sys
class NoPsycopg(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("psycopg", "psycopg_pool", "psycopg_c"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, NoPsycopg())
import deepslate
from deepslate import flow, new_postgres, new_sqlite, spawn_workers
assert "psycopg" not in sys.modules

@flow
async def one() -> int:
    return 1

platform, _ = new_sqlite(sys.argv[1], "127.0.0.1:0")
spawn, wait, cancel, stop = spawn_workers(1, platform, [one])
spawn("x", "one", {})
print("sqlite", wait("x", timeout=10))
stop()
try:
    new_postgres(1, "postgres://postgres:pw@127.0.0.1:5432/postgres", "127.0.0.1:0")
except deepslate.store.DriverMissing as e:
    print("refused:", e)
    assert isinstance(e, ImportError)
try:
    from deepslate.store import PostgresStore
except ImportError as e:
    print("no PostgresStore:", type(e).__name__)
"""


def test_without_psycopg_deepslate_runs_on_sqlite_and_new_postgres_says_what_to_install(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    script = tmp_path / "nopsycopg.py"          # a file: a flow's source is read from it
    script.write_text(BLOCKER)
    r = subprocess.run([sys.executable, str(script), str(tmp_path / "s.db")], capture_output=True, text=True,
                       timeout=60, env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "sqlite 1" in r.stdout
    assert "refused: the PostgreSQL store needs psycopg with psycopg-pool: pip install 'deepslate[postgres]'" \
        in r.stdout, r.stdout
    assert "no PostgresStore: ModuleNotFoundError" in r.stdout
    assert DriverMissing.__mro__[1:3] == (StoreError, ImportError)
