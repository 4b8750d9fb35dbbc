"""The SQLite store against real files: schema and its migrations, WAL, bad files, full disks.

What every store does is in test_store.py, run on SQLite and PostgreSQL."""
import os
import sqlite3
import subprocess
import sys
import threading

import pytest

from deepslate.store.base import ProgramPut
from deepslate.store import Commit, IsolateRow, NotADeepslateStore, SQLiteStore, StoreError, StoreFull, StoreReadOnly
from deepslate.store.migrations import migrations

NODE = "local"


@pytest.fixture
def opened():
    """``opened(path, **kw)`` is ``SQLiteStore(path, **kw)``, closed at teardown also when the test
    failed before closing it (closing a closed store does nothing)."""
    stores = []

    def open_store(*args, **kw):
        s = SQLiteStore(*args, **kw)
        stores.append(s)
        return s
    yield open_store
    for s in stores:
        s.close()


def spawn_commit(id, name, snapshot=b"snap", ops=()):
    row = IsolateRow(id=id, name=name, flow="f", program_hash=b"h" * 32, snapshot=snapshot)
    return Commit(isolate_id=id, status="running", snapshot=snapshot, steps=0, create=row,
                  ops=[ProgramPut(b"h" * 32, b"program-body"), *ops])


def test_fresh_file_gets_schema_and_wal(store):
    assert store.schema_version() == len(migrations("sqlite"))
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2   # FULL


def old_store(path, version):
    """A connection to a new file holding the schema as version ``version`` left it."""
    from deepslate.store.sqlite import _statements
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA application_id = {0x64736C74}")
    db.execute("CREATE TABLE deepslate_schema (version INTEGER NOT NULL)")
    db.execute("INSERT INTO deepslate_schema VALUES (?)", (version,))
    for script in migrations("sqlite")[:version]:
        for stmt in _statements(script):
            db.execute(stmt)
    return db


def test_version_1_store_is_upgraded(tmp_path, opened):
    p = str(tmp_path / "s.db")
    db = old_store(p, 1)                  # a store as version 1 left it
    db.commit()
    db.close()
    s = opened(p)
    assert s.schema_version() == len(migrations("sqlite")) >= 2
    assert len(s.store_id()) == 32
    s.close()


def test_concurrent_migration_runners(tmp_path, opened):
    # many rounds: switching a new file to WAL meets another opener now and then (a few rounds
    # in a hundred), and SQLite answers that BUSY without waiting
    for round_ in range(40):
        p = str(tmp_path / f"s{round_}.db")
        errors, stores = [], []

        def open_it():
            try:
                stores.append(opened(p))
            except Exception as e:   # pragma: no cover - the assertion below reports it
                errors.append(e)
        ts = [threading.Thread(target=open_it) for _ in range(5)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not errors, f"round {round_}: {errors[0]!r}"
        assert {s.schema_version() for s in stores} == {len(migrations("sqlite"))}
        for s in stores:
            s.close()


# -- bad files --------------------------------------------------------------

def test_not_a_database(tmp_path, opened):
    p = tmp_path / "notes.txt"
    p.write_bytes(b"these are my notes, not a database\n" * 100)
    with pytest.raises(NotADeepslateStore, match="notes.txt.*not a deepslate store"):
        opened(str(p))


def test_foreign_sqlite_database(tmp_path, opened):
    p = str(tmp_path / "other.db")
    db = sqlite3.connect(p)
    db.execute("CREATE TABLE customers (id INTEGER)")
    db.commit()
    db.close()
    with pytest.raises(NotADeepslateStore, match="SQLite database but not a deepslate store.*customers"):
        opened(p)
    db = sqlite3.connect(p)   # untouched
    assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["customers"]
    db.close()


def test_missing_directory(tmp_path, opened):
    with pytest.raises(StoreError, match="directory .*nope.* does not exist"):
        opened(str(tmp_path / "nope" / "s.db"))


def test_read_only_file_by_permissions(tmp_path):
    p = tmp_path / "s.db"
    SQLiteStore(str(p)).close()
    p.chmod(0o444)
    code = ("from deepslate.store import SQLiteStore, StoreReadOnly\n"
            "try:\n    SQLiteStore(%r)\nexcept StoreReadOnly as e:\n    print('refused:', e)\n" % str(p))
    cmd = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        # root ignores file modes through CAP_DAC_OVERRIDE: open the store without it
        cmd = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
               "--bounding-set=-dac_override,-dac_read_search"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "refused:" in r.stdout and "read-only" in r.stdout, r.stdout


def test_read_only_open_mode(tmp_path, opened):
    p = str(tmp_path / "s.db")
    s = opened(p)
    e = s.claim(NODE)
    s.commit_batch(NODE, e, [spawn_commit(1, "a")])
    s.close()
    ro = opened(p, readonly=True)
    assert ro.get_isolate("a").name == "a"
    with pytest.raises(StoreReadOnly, match="read-only"):
        ro.claim(NODE)
    ro.close()


def test_disk_full_loses_nothing(tmp_path, opened):
    p = str(tmp_path / "s.db")
    s = opened(p)
    pages = s.db.execute("PRAGMA page_count").fetchone()[0]
    s.close()
    s = opened(p, max_page_count=pages + 3)
    e = s.claim(NODE)
    s.commit_batch(NODE, e, [spawn_commit(1, "a")])
    with pytest.raises(StoreFull, match="is full"):
        for i in range(2, 1000):
            s.commit_batch(NODE, e, [spawn_commit(i, f"n{i}", snapshot=b"z" * 4000)])
    written = s.count_isolates()["running"]
    assert s.get_isolate("a").snapshot == b"snap"
    s.close()
    s = opened(p)      # no limit: everything committed is there and writes work again
    e = s.claim(NODE)
    assert s.count_isolates()["running"] == written
    s.commit_batch(NODE, e, [Commit(1, "done", None, 1, result=b"ok")])
    s.close()


def test_bad_synchronous_value(tmp_path, opened):
    with pytest.raises(ValueError, match="synchronous must be"):
        opened(str(tmp_path / "s.db"), synchronous="sometimes")


def test_failed_migration_does_not_bump_version(tmp_path, monkeypatch, opened):
    from deepslate.store import sqlite as sq
    p = str(tmp_path / "s.db")
    SQLiteStore(p).close()
    real = migrations("sqlite")
    monkeypatch.setattr(sq._migrations, "migrations",
                        lambda backend: real + ["CREATE TABLE extra (x INTEGER);\nCREATE TABLE broken (;"])
    with pytest.raises(StoreError, match="syntax error"):
        opened(p)
    monkeypatch.undo()
    s = opened(p)
    assert s.schema_version() == len(real)
    assert s.db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'extra'").fetchone()[0] == 0
    s.close()


def test_unknown_backend_has_no_migrations():
    assert migrations("nosuchbackend") == []


def test_version_2_store_gets_each_isolates_tree_root(tmp_path, opened):
    p = str(tmp_path / "s.db")
    db = old_store(p, 2)                  # a store as version 2 left it, with a tree of isolates
    for id, parent in ((1, None), (2, 1), (3, 2), (4, None), (5, 4)):
        db.execute("INSERT INTO isolates (id, name, flow, program_hash, parent_id, status, created_at, updated_at) "
                   "VALUES (?, ?, 'f', x'00', ?, 'running', 0, 0)", (id, f"i{id}", parent))
    db.execute("INSERT INTO queues (id, capacity, elem) VALUES (1, 0, 'int')")
    db.commit()
    db.close()
    s = opened(p)
    assert s.schema_version() == len(migrations("sqlite"))
    roots = dict(s.db.execute("SELECT id, root_id FROM isolates").fetchall())
    assert roots == {1: 1, 2: 1, 3: 1, 4: 4, 5: 4}
    assert s.load_shared().roots == {}      # an older queue's tree is unknown: it is kept
    s.close()


def test_version_3_store_files_its_inbox_by_tree(tmp_path, opened):
    p = str(tmp_path / "s.db")
    db = old_store(p, 3)                  # a store as version 3 left it, with messages waiting
    for id, parent, root in ((1, None, 1), (2, 1, 1), (3, None, None)):
        db.execute("INSERT INTO isolates (id, name, flow, program_hash, parent_id, root_id, status, created_at, "
                   "updated_at) VALUES (?, ?, 'f', x'00', ?, ?, 'running', 0, 0)", (id, f"i{id}", parent, root))
    for iid in (2, 3):
        db.execute("INSERT INTO inbox (isolate_id, method, route, body, created_at) VALUES (?, 'POST', '/x', x'01', 0)",
                   (iid,))
    db.commit()
    db.close()
    s = opened(p)
    assert s.schema_version() == len(migrations("sqlite"))
    assert dict(s.db.execute("SELECT isolate_id, root_id FROM inbox").fetchall()) == {2: 1, 3: 3}
    assert s.db.execute("SELECT count(*) FROM isolates WHERE detached = 0").fetchone()[0] == 3
    s.close()


def test_ending_a_wide_tree_seeks_only_its_live_isolates(store):
    # every terminal commit asks whether its tree still has a live isolate; a tree of many
    # finished children must not be walked each time (that would be quadratic in its width)
    from deepslate.store.sqlite import _TREE_LIVE
    plan = [row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + _TREE_LIVE, (1,)).fetchall()]
    seeks = [p for p in plan if "isolates" in p]
    assert len(seeks) == 2 and all("(root_id=? AND status=?)" in p for p in seeks), plan


# -- set-based batches: one UPDATE for many isolates' steps -----------------------------------

def test_a_batch_of_many_isolates_takes_one_update_per_500_rows(tmp_path, opened):
    # test_store.py checks that such a batch lands as row-by-row commits would; here its statements
    from test_store import _mixed_steps
    bulk = opened(str(tmp_path / "bulk.db"))
    e = bulk.claim(NODE)
    bulk.commit_batch(NODE, e, [spawn_commit(i, f"n{i}") for i in range(1, 1204)])
    updates = []
    bulk.db.set_trace_callback(lambda sql: updates.append(sql) if sql.startswith("UPDATE isolates") else None)
    bulk.commit_batch(NODE, e, _mixed_steps(1203))
    bulk.db.set_trace_callback(None)
    # 1203 rows: 963 with a snapshot (2 statements of up to 500), 240 keeping theirs (1), and
    # when the 377 that ended did so (1)
    assert len(updates) == 4, len(updates)


def test_version_4_store_gets_an_empty_argument_digest(tmp_path, opened):
    p = str(tmp_path / "s.db")
    db = old_store(p, 4)                  # a store as version 4 left it, with an isolate
    db.execute("INSERT INTO isolates (id, name, flow, program_hash, status, created_at, updated_at) "
               "VALUES (1, 'old', 'f', x'00', 'done', 0, 0)")
    db.commit()
    db.close()
    s = opened(p)
    assert s.schema_version() == len(migrations("sqlite")) >= 5
    assert s.get_isolate("old").args_hash is None        # unknown: a spawn of the same flow matches it
    epoch = s.claim(NODE)
    row = IsolateRow(id=2, name="new", flow="f", program_hash=b"h" * 32, snapshot=b"s", args_hash=b"d" * 16)
    s.commit_batch(NODE, epoch, [Commit(2, "running", b"s", 0, create=row)])
    assert s.get_isolate("new").args_hash == b"d" * 16
