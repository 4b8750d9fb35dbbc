"""The embedded store: one SQLite file in WAL mode.

Durability: ``journal_mode=WAL`` with ``synchronous=FULL`` fsyncs the WAL on
every commit, so a batch acknowledged by ``commit_batch`` survives a power
cut (tests/crash/test_power_loss.py checks crash images of a running store
against what was acknowledged); ``synchronous="NORMAL"`` may be chosen: it
survives a process crash, not a power cut.

The engine uses the connection from its database thread; other threads (a
dashboard, a test, the user's code reading ``platform.store``) may call the
read methods too: every public method holds the store's lock, so nobody reads
inside the writer's open transaction.
"""
from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from typing import Any, Callable, Iterator, TypeVar

from .._faults import fault_point
from . import migrations as _migrations
from .base import (INBOX_HEAD, TERMINAL, Commit, CommitRejected, InboxMessage, InboxPut, InboxTake, IsolateNew,
                   IsolateRow, IsolateSummary, LeaseLost, LockNew, LockSet, NotADeepslateStore, Op, PageKey,
                   ProgramPut, QueueNew, QueuePut, QueueTake, Request, SharedState, StepCount, Store, StoreError,
                   StoreFull, StoreReadOnly, WgAdd, WgNew, check_statuses, contains_pattern, status_flow_terms)

APPLICATION_ID = 0x64736C74          # "dslt" in the SQLite header: marks a deepslate file

_COLS = ("id name flow program_hash parent_id root_id status snapshot wake_at waiting_on result error steps "
         "children log_seq owner epoch created_at updated_at detached args_hash").split()
_SELECT = "SELECT " + ", ".join(_COLS) + " FROM isolates"
_SUMMARY = ", ".join(IsolateSummary._fields)
# does the tree rooted at ?1 hold an isolate that may still run? Two seeks on (root_id, status),
# so a wide tree's finished rows are not walked at each of their ends
_TREE_LIVE = ("SELECT EXISTS (SELECT 1 FROM isolates WHERE root_id = ?1 AND status IN ('running', 'sleeping', "
              "'waiting')) OR EXISTS (SELECT 1 FROM isolates WHERE root_id = ?1 AND status = 'failed' "
              "AND snapshot IS NOT NULL)")


_TREE_TABLES = ("queues", "locks", "waitgroups", "inbox", "inbox_seen")


def _owns(root: str) -> str:
    """SQL: does the tree rooted at ``root`` (a parameter or a column) own a queue, lock, wait
    group, inbox message or seen delivery id?"""
    return " OR ".join(f"EXISTS (SELECT 1 FROM {t} WHERE root_id = {root})" for t in _TREE_TABLES)


_TREE_OWNS = "SELECT " + _owns("?1")
_PURGE_ROOTS = ("INSERT INTO temp.purge_roots (id) SELECT r.id FROM isolates AS r INDEXED BY isolates_ended "
                f"WHERE r.ended_at < ? AND r.status IN ({{marks}}) AND r.parent_id IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM isolates AS c WHERE c.root_id = r.id AND (c.status NOT IN ({marks}) "
                "OR c.ended_at IS NULL OR c.ended_at >= ?)) LIMIT ?")
_ENDED = "UPDATE isolates SET ended_at = ? WHERE id IN ({})"
_UPDATE_KEEP = ("UPDATE isolates SET status=?, wake_at=?, waiting_on=?, result=?, error=?, steps=?, children=?, "
                "log_seq=?, updated_at=? WHERE id=? AND owner=? AND epoch=?")
_UPDATE = _UPDATE_KEEP.replace("updated_at=?", "updated_at=?, snapshot=?")
_UPDATE_KEEP_WIDTH = _UPDATE_KEEP.count("?")
_UPDATE_WIDTH = _UPDATE.count("?")
_BULK_ROWS = 500            # rows per set-based UPDATE: 500 * 13 parameters, well under SQLite's limit


def _ends_tree_part(c: Commit) -> bool:
    """Whether the commit ends its isolate for good (not a failure that keeps its snapshot for retry)."""
    return c.status in TERMINAL and (c.status != "failed" or (c.snapshot is None and not c.keep_snapshot))


def _bulk(keep: bool, values: str) -> str:
    """One UPDATE of many rows from a VALUES list in _UPDATE's (or _UPDATE_KEEP's) parameter order."""
    cols = "status wake_at waiting_on result error steps children log_seq updated_at".split()
    if not keep:
        cols.append("snapshot")
    n = len(cols)
    sets = ", ".join(f"{c} = v.column{i + 1}" for i, c in enumerate(cols))
    return (f"UPDATE isolates SET {sets} FROM (VALUES {values}) AS v WHERE isolates.id = v.column{n + 1} "
            f"AND isolates.owner = v.column{n + 2} AND isolates.epoch = v.column{n + 3}")
_INSERT = f"INSERT INTO isolates ({', '.join(_COLS)}) VALUES ({', '.join('?' * len(_COLS))})"


F = TypeVar("F", bound=Callable[..., Any])


def _locked(fn: F) -> F:
    """One caller at a time on the connection: a read from another thread must not land
    inside the writer's open transaction (it would see uncommitted rows)."""
    @functools.wraps(fn)
    def wrapper(self: "SQLiteStore", *args: Any, **kw: Any) -> Any:
        with self._lock:
            return fn(self, *args, **kw)
    return wrapper  # type: ignore[return-value]


def _row(r: tuple[Any, ...]) -> IsolateRow:
    row = IsolateRow(**dict(zip(_COLS, r)))
    row.detached = bool(row.detached)
    return row


def translate(e: sqlite3.Error, path: str, doing: str) -> StoreError | CommitRejected:
    """Turn an sqlite3 error into a StoreError that names the file and the cause, or into a
    CommitRejected when what failed is a value of the write, not the store."""
    code = getattr(e, "sqlite_errorname", "")
    if code.startswith("SQLITE_READONLY"):
        return StoreReadOnly(f"store {path!r} is read-only ({doing}): {e}")
    if code.startswith("SQLITE_FULL"):
        return StoreFull(f"store {path!r} is full ({doing}): {e}; nothing of this write was kept")
    if code.startswith("SQLITE_NOTADB"):
        return NotADeepslateStore(f"{path!r} is not a deepslate store: {e}")
    if code.startswith("SQLITE_CORRUPT"):
        return StoreError(f"store {path!r} is corrupt ({doing}): {e}")
    if code.startswith("SQLITE_CANTOPEN"):
        return StoreError(f"cannot open store {path!r} ({doing}): {e}")
    if code.startswith(("SQLITE_TOOBIG", "SQLITE_RANGE", "SQLITE_MISMATCH", "SQLITE_CONSTRAINT")):
        return CommitRejected(f"store {path!r} refused a value ({doing}): {e}")
    if code.startswith("SQLITE_BUSY"):
        return StoreError(f"store {path!r} is locked by another process ({doing}): {e}")
    return StoreError(f"store {path!r}: {doing} failed: {e}")


class _RolledBack(Exception):
    """A dry run's transaction is undone on purpose."""


def _text(line: str) -> str | bytes:
    """A log line as SQLite can hold it: a str with a lone surrogate (bytes decoded with
    surrogateescape, or a literal) is kept as its UTF-8 bytes, so read_log gives it back unchanged."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return line.encode("utf-8", "surrogatepass")
    return line


class SQLiteStore(Store):
    def __init__(self, path: str, *, readonly: bool = False, synchronous: str = "FULL",
                 log_keep: int = 200, max_page_count: int | None = None, busy_timeout: float = 5.0):
        self.path = str(path)
        self._lock = threading.RLock()
        self.readonly = readonly
        self.log_keep = log_keep
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"synchronous must be FULL, NORMAL or EXTRA, not {synchronous!r}")
        d = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(d):
            raise StoreError(f"cannot open store {self.path!r}: directory {d!r} does not exist")
        if readonly and not os.path.exists(self.path):
            raise StoreError(f"cannot open store {self.path!r}: no such file")
        try:
            uri = f"file:{os.path.abspath(self.path)}" + ("?mode=ro" if readonly else "")
            self.db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False,
                                      timeout=busy_timeout)
        except sqlite3.Error as e:
            raise translate(e, self.path, "open") from None
        try:
            self._check_kind()
            if not readonly:
                self._wal(busy_timeout)
                self.db.execute(f"PRAGMA synchronous={synchronous.upper()}")
                if max_page_count is not None:
                    self.db.execute(f"PRAGMA max_page_count={int(max_page_count)}")
                self._migrate()
                self._probe_write()
            elif self._version() == 0:
                raise StoreError(f"store {self.path!r} has no deepslate schema yet")
        except StoreError:
            self.db.close()
            raise
        except sqlite3.Error as e:
            self.db.close()
            raise translate(e, self.path, "open") from None

    # -- opening -----------------------------------------------------------

    def _check_kind(self) -> None:
        # one read transaction: another process may create the schema between the two reads
        self.db.execute("BEGIN")
        try:
            app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
            tables = [r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        finally:
            if self.db.in_transaction:
                self.db.execute("COMMIT")
        if app_id == APPLICATION_ID:
            return
        if app_id != 0 or tables:
            raise NotADeepslateStore(
                f"{self.path!r} is an SQLite database but not a deepslate store "
                f"(application_id {app_id:#x}, tables: {', '.join(tables[:5]) or 'none'})")

    def _wal(self, busy_timeout: float) -> None:
        # Switching a new file to WAL takes an exclusive lock and SQLite answers BUSY at once,
        # without its busy handler, when another connection opens the file meanwhile (several
        # processes starting on one new store): try again until the busy timeout has passed.
        deadline = time.monotonic() + busy_timeout
        pause = 0.001
        while True:
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e) or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _version(self) -> int:
        has = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='deepslate_schema'").fetchone()
        if not has:
            return 0
        return int(self.db.execute("SELECT version FROM deepslate_schema").fetchone()[0])

    def _migrate(self) -> None:
        scripts = _migrations.migrations("sqlite")
        while True:
            self.db.execute("BEGIN IMMEDIATE")   # one runner at a time across processes
            try:
                v = self._version()
                if v > len(scripts):
                    raise StoreError(f"store {self.path!r} has schema version {v}, newer than this "
                                     f"deepslate knows ({len(scripts)}); upgrade deepslate")
                if v == len(scripts):
                    self.db.execute("COMMIT")
                    return
                if v == 0:
                    self.db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    self.db.execute("CREATE TABLE deepslate_schema (version INTEGER NOT NULL)")
                    self.db.execute("INSERT INTO deepslate_schema VALUES (0)")
                for stmt in _statements(scripts[v]):
                    self.db.execute(stmt)
                self.db.execute("UPDATE deepslate_schema SET version = ?", (v + 1,))
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise

    def _probe_write(self) -> None:
        # A read-only file opens fine and only fails on the first write: find out now.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("UPDATE deepslate_schema SET version = version")
        finally:
            self.db.execute("ROLLBACK")

    @_locked
    def schema_version(self) -> int:
        return self._version()

    @_locked
    def store_id(self) -> str:
        """A random id given to this store when it was created."""
        return str(self.db.execute("SELECT value FROM store_info WHERE key = 'store_id'").fetchone()[0])

    # -- ownership ---------------------------------------------------------

    def _write(self, doing: str, fn: Any) -> Any:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                out = fn()
                self.db.execute("COMMIT")
                return out
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise translate(e, self.path, doing) from None

    @_locked
    def claim(self, node_id: str, lease_seconds: float = 30.0) -> int:
        def do() -> int:
            row = self.db.execute("SELECT max(epoch) FROM nodes").fetchone()
            epoch = int(row[0] or 0) + 1
            self.db.execute("INSERT INTO nodes (node_id, epoch, lease_until) VALUES (?, ?, ?) "
                            "ON CONFLICT(node_id) DO UPDATE SET "
                            "epoch = excluded.epoch, lease_until = excluded.lease_until",
                            (node_id, epoch, time.time() + lease_seconds))
            # one node per SQLite file: every other node's lease ends now
            self.db.execute("UPDATE nodes SET lease_until = 0 WHERE node_id != ?", (node_id,))
            self.db.execute(f"UPDATE isolates SET owner = ?, epoch = ? WHERE status NOT IN {TERMINAL}",
                            (node_id, epoch))
            return epoch
        epoch: int = self._write("claim", do)
        return epoch

    @_locked
    def heartbeat(self, node_id: str, epoch: int, lease_seconds: float = 30.0) -> None:
        def do() -> None:
            cur = self.db.execute("UPDATE nodes SET lease_until = ? WHERE node_id = ? AND epoch = ?",
                                  (time.time() + lease_seconds, node_id, epoch))
            if cur.rowcount != 1:
                raise LeaseLost(f"store {self.path!r}: node {node_id!r} lost its lease "
                                f"(epoch {epoch}); another process opened this store")
        self._write("heartbeat", do)

    # -- loading -------------------------------------------------------------

    @_locked
    def load_unfinished(self, node_id: str, epoch: int) -> list[IsolateRow]:
        return [_row(r) for r in self._all(_SELECT + f" WHERE status NOT IN {TERMINAL} AND owner = ? AND epoch = ?"
                                           " ORDER BY id", (node_id, epoch), "load isolates")]

    @_locked
    def load_shared(self) -> SharedState:
        try:
            db = self.db
            queues: dict[int, tuple[int, str, list[tuple[int, bytes]]]] = {
                qid: (cap, elem, []) for qid, cap, elem in db.execute("SELECT id, capacity, elem FROM queues")}
            for qid, seq, value in db.execute("SELECT queue_id, seq, value FROM queue_items ORDER BY seq"):
                if qid in queues:
                    queues[qid][2].append((seq, value))
            locks = dict(db.execute("SELECT id, holder FROM locks").fetchall())
            wgs = dict(db.execute("SELECT id, count FROM waitgroups").fetchall())
            roots: dict[tuple[str, int], int] = {}
            for kind, table in (("queue", "queues"), ("lock", "locks"), ("wg", "waitgroups")):
                for oid, root in db.execute(f"SELECT id, root_id FROM {table} WHERE root_id IS NOT NULL"):
                    roots[kind, oid] = root

            freed = dict(db.execute("SELECT key, CAST(value AS INTEGER) FROM store_info WHERE key LIKE 'freed_%'"))

            def nxt(kind: str, sql: str) -> int:
                # past every id ever used, also those deleted with their tree: an id is never reused
                return max(int(db.execute(sql).fetchone()[0] or 0), int(freed.get(f"freed_{kind}", 0))) + 1
            next_ids = {"isolate": nxt("isolate", "SELECT max(id) FROM isolates"),
                        "queue": nxt("queue", "SELECT max(id) FROM queues"),
                        "lock": nxt("lock", "SELECT max(id) FROM locks"),
                        "wg": nxt("wg", "SELECT max(id) FROM waitgroups"),
                        "seq": nxt("seq", "SELECT max(seq) FROM queue_items")}
            return SharedState(queues, locks, wgs, next_ids, roots)
        except sqlite3.Error as e:
            raise translate(e, self.path, "load shared state") from None

    # -- the step transaction ----------------------------------------------

    def _not_owned(self, isolate_id: int, node_id: str, epoch: int) -> LeaseLost:
        """Every fenced write that matched no row: another process owns the isolate now."""
        return LeaseLost(f"store {self.path!r}: isolate {isolate_id} is not owned by "
                         f"node {node_id!r} at epoch {epoch}; another process took over")

    @_locked
    def commit_batch(self, node_id: str, epoch: int, commits: list[Commit]) -> None:
        db = self.db
        now = time.time()
        # Set-based when every commit is of a different isolate: each statement lets go of the
        # GIL, and this thread then waits to get it back while the event loop steps isolates.
        # One UPDATE (and one look for objects to collect) per batch, not per commit, halved the
        # database thread's busy time when 10 000 timers fired at once (0.94 s to 0.49 s).
        steps = [c for c in commits if c.row]
        bulk = len(steps) > 1 and len({c.isolate_id for c in steps}) == len(steps)

        def do() -> None:
            # the node's own epoch fences what no row can: inserts of new isolates
            row = db.execute("SELECT epoch FROM nodes WHERE node_id = ?", (node_id,)).fetchone()
            if row is None or row[0] != epoch:
                raise LeaseLost(f"store {self.path!r}: node {node_id!r} lost its lease (epoch {epoch}); "
                                "another process took over")
            for c in steps:
                fault_point("mid_group_commit", commits, c)
                for op in c.ops:
                    self._apply(op, node_id, epoch, now)
                if c.create is not None:
                    self._insert(c.create, node_id, epoch, now)
                if not bulk:
                    self._update([c], node_id, epoch, now)
                    self._log(c)
                    if _ends_tree_part(c):
                        c.collected = self._collect(c.isolate_id)
            if bulk:
                self._update(steps, node_id, epoch, now)
                for c in steps:
                    self._log(c)
                self._collect_ended([c for c in steps if _ends_tree_part(c)])
            # once per isolate that ends, never per step (see migration 6)
            ended = [c.isolate_id for c in steps if c.status in TERMINAL]
            for i in range(0, len(ended), _BULK_ROWS):
                part = ended[i:i + _BULK_ROWS]
                db.execute(_ENDED.format(", ".join("?" * len(part))), (now, *part))
            # inbound messages last: they see the statuses this batch leaves, so none is filed
            # under a tree that one of these steps ended
            for c in commits:
                if not c.row:
                    for op in c.ops:
                        self._apply(op, node_id, epoch, now)
            fault_point("before_commit")
        self._write(f"commit of {len(commits)} steps", do)

    def _update(self, commits: list[Commit], node_id: str, epoch: int, now: float) -> None:
        """The isolates' rows, fenced by owner and epoch: all of ``commits`` are of different isolates."""
        for keep in (False, True):
            rows = [c for c in commits if bool(c.keep_snapshot) is keep]
            sql, width = (_UPDATE_KEEP, _UPDATE_KEEP_WIDTH) if keep else (_UPDATE, _UPDATE_WIDTH)
            for i in range(0, len(rows), _BULK_ROWS):
                part = rows[i:i + _BULK_ROWS]
                params: list[Any] = []
                for c in part:
                    params += (c.status, c.wake_at, c.waiting_on, c.result, c.error, c.steps, c.children,
                               c.log_seq, now, *(() if keep else (c.snapshot,)), c.isolate_id, node_id, epoch)
                if len(part) == 1:
                    changed = self.db.execute(sql, params).rowcount
                else:
                    values = ", ".join([f"({', '.join('?' * width)})"] * len(part))
                    changed = self.db.execute(_bulk(keep, values), params).rowcount
                if changed != len(part):
                    raise self._not_owned(self._unowned([c.isolate_id for c in part], node_id, epoch),
                                          node_id, epoch)

    def _unowned(self, ids: list[int], node_id: str, epoch: int) -> int:
        owned = {r[0] for r in self.db.execute(
            f"SELECT id FROM isolates WHERE id IN ({', '.join('?' * len(ids))}) AND owner = ? AND epoch = ?",
            (*ids, node_id, epoch))}
        return next((i for i in ids if i not in owned), ids[0])

    def _log(self, c: Commit) -> None:
        if c.log:
            first = c.log_seq - len(c.log) + 1
            self.db.executemany("INSERT OR REPLACE INTO isolate_log (isolate_id, seq, line) VALUES (?, ?, ?)",
                                [(c.isolate_id, first + i, _text(line)) for i, line in enumerate(c.log)])
            self.db.execute("DELETE FROM isolate_log WHERE isolate_id = ? AND seq <= ?",
                            (c.isolate_id, c.log_seq - self.log_keep))

    def _collect_ended(self, ended: list[Commit]) -> None:
        """_collect for many ended isolates at once: one query finds the trees that own objects."""
        done: set[int] = set()
        for i in range(0, len(ended), _BULK_ROWS):
            part = {c.isolate_id: c for c in ended[i:i + _BULK_ROWS]}
            owning = self.db.execute(
                f"SELECT i.id, i.root_id FROM isolates AS i WHERE i.id IN ({', '.join('?' * len(part))}) "
                f"AND ({_owns('i.root_id')})", tuple(part)).fetchall()
            for iid, root in owning:
                if root not in done:        # two ends of one tree: it is collected once
                    done.add(root)
                    part[iid].collected = self._collect_tree(root)

    def _collect(self, isolate_id: int) -> int | None:
        """Delete the queues, locks and wait groups of ``isolate_id``'s tree if nothing in it can
        run again (a failed isolate that kept its snapshot may be retried); returns the root."""
        root = self.db.execute("SELECT root_id FROM isolates WHERE id = ?", (isolate_id,)).fetchone()[0]
        # most trees own no object: three index seeks instead of _collect_tree's statements
        if root is None or not self.db.execute(_TREE_OWNS, (root,)).fetchone()[0]:
            return None
        return self._collect_tree(root)

    def _collect_tree(self, root: int) -> int | None:
        """Delete the objects of the tree rooted at ``root`` if nothing in it can run again."""
        db = self.db
        if db.execute(_TREE_LIVE, (root,)).fetchone()[0]:
            return None
        for kind, sql in (("queue", "SELECT max(id) AS m FROM queues WHERE root_id = ?1"),
                          ("lock", "SELECT max(id) AS m FROM locks WHERE root_id = ?1"),
                          ("wg", "SELECT max(id) AS m FROM waitgroups WHERE root_id = ?1"),
                          ("seq", "SELECT max(seq) AS m FROM queue_items WHERE queue_id IN "
                                  "(SELECT id FROM queues WHERE root_id = ?1)")):
            db.execute(f"INSERT INTO store_info (key, value) SELECT 'freed_{kind}', m FROM ({sql}) "
                       "WHERE m IS NOT NULL ON CONFLICT (key) DO UPDATE SET value = "
                       "max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))", (root,))
        db.execute("DELETE FROM queue_items WHERE queue_id IN (SELECT id FROM queues WHERE root_id = ?)", (root,))
        for table in _TREE_TABLES:
            db.execute(f"DELETE FROM {table} WHERE root_id = ?", (root,))
        return int(root)

    def _insert(self, r: IsolateRow, node_id: str, epoch: int, now: float) -> None:
        row = {c: getattr(r, c) for c in _COLS}
        row.update(owner=node_id, epoch=epoch, created_at=now, updated_at=now, detached=int(bool(r.detached)))
        if row["root_id"] is None:
            row["root_id"] = r.id
        self.db.execute(_INSERT, tuple(row[c] for c in _COLS))

    def _apply(self, op: Op, node_id: str, epoch: int, now: float) -> None:
        db = self.db
        match op:
            case QueuePut(qid, seq, data):
                db.execute("INSERT INTO queue_items (queue_id, seq, value) VALUES (?, ?, ?)", (qid, seq, data))
            case QueueTake(qid, seq):
                cur = db.execute("DELETE FROM queue_items WHERE queue_id = ? AND seq = ?", (qid, seq))
                if cur.rowcount != 1:
                    raise CommitRejected(f"queue {qid}: item {seq} taken but not stored (engine bug)")
            case LockSet(lid, holder):
                db.execute("UPDATE locks SET holder = ? WHERE id = ?", (holder, lid))
            case WgAdd(wid, delta):
                db.execute("UPDATE waitgroups SET count = count + ? WHERE id = ?", (delta, wid))
            case IsolateNew(row):
                self._insert(row, node_id, epoch, now)
            case ProgramPut(h, body):
                db.execute("INSERT OR IGNORE INTO programs (hash, body, created_at) VALUES (?, ?, ?)", (h, body, now))
            case QueueNew(qid, capacity, elem, root):
                db.execute("INSERT INTO queues (id, capacity, elem, root_id) VALUES (?, ?, ?, ?)",
                           (qid, capacity, elem, root))
            case LockNew(lid, root):
                db.execute("INSERT INTO locks (id, holder, root_id) VALUES (?, NULL, ?)", (lid, root))
            case WgNew(wid, root):
                db.execute("INSERT INTO waitgroups (id, count, root_id) VALUES (?, 0, ?)", (wid, root))
            case InboxTake(mid):
                db.execute("DELETE FROM inbox WHERE id = ?", (mid,))
            case InboxPut():
                self._inbox_put(op, now)
            case _:
                raise CommitRejected(f"unknown store operation {op!r}")

    @_locked
    def orphans(self, parent_id: int | None = None) -> list[IsolateRow]:
        cols = ", ".join(f"c.{c}" for c in _COLS)
        sql = (f"SELECT {cols} FROM isolates AS c JOIN isolates AS p ON p.id = c.parent_id "
               "WHERE c.detached = 0 AND (c.status IN ('running', 'sleeping', 'waiting') OR "
               "(c.status = 'failed' AND c.snapshot IS NOT NULL)) AND (p.status IN ('done', 'cancelled') OR "
               "(p.status = 'failed' AND p.snapshot IS NULL))")
        if parent_id is None:
            return [_row(r) for r in self._all(sql + " ORDER BY c.id", (), "find orphaned children")]
        return [_row(r) for r in self._all(sql + " AND c.parent_id = ? ORDER BY c.id", (parent_id,),
                                           "find orphaned children")]

    @_locked
    def mark_failed(self, node_id: str, epoch: int, isolate_id: int, error: str) -> None:
        def do() -> None:
            now = time.time()
            cur = self.db.execute("UPDATE isolates SET status='failed', error=?, updated_at=?, ended_at=? "
                                  "WHERE id=? AND owner=? AND epoch=?",
                                  (error, now, now, isolate_id, node_id, epoch))
            if cur.rowcount != 1:
                raise self._not_owned(isolate_id, node_id, epoch)
            # a failed isolate holds no lock (else nobody could ever take it)
            self.db.execute("UPDATE locks SET holder = NULL WHERE holder = ?", (isolate_id,))
        self._write("mark failed", do)

    @_locked
    def adopt_failed(self, node_id: str, epoch: int, isolate_id: int, status: str,
                     updated_at: float | None = None) -> bool:
        def do() -> bool:
            seen = "" if updated_at is None else " AND updated_at = ?"
            cur = self.db.execute("UPDATE isolates SET status=?, owner=?, epoch=?, updated_at=?, ended_at=NULL "
                                  "WHERE id=? AND status='failed' AND snapshot IS NOT NULL" + seen,
                                  (status, node_id, epoch, time.time(), isolate_id,
                                   *(() if updated_at is None else (updated_at,))))
            return cur.rowcount == 1
        return bool(self._write("adopt a failed isolate", do))

    # -- retention -------------------------------------------------------------------

    @_locked
    def _purge_trees(self, wanted: tuple[str, ...], before: float, limit: int, dry_run: bool) -> dict[str, Any]:
        counts: dict[str, Any] = {}

        def do() -> None:
            counts.update(self._purge(wanted, before, limit))
            if dry_run:
                raise _RolledBack
        try:
            self._write("purge", do)
        except _RolledBack:
            pass
        return counts

    def _purge(self, wanted: tuple[str, ...], before: float, limit: int) -> dict[str, Any]:
        db = self.db
        marks = ", ".join("?" * len(wanted))
        db.execute("CREATE TEMP TABLE IF NOT EXISTS purge_roots (id INTEGER PRIMARY KEY)")
        db.execute("CREATE TEMP TABLE IF NOT EXISTS purge_programs (hash BLOB PRIMARY KEY)")
        db.execute("DELETE FROM temp.purge_roots")
        db.execute("DELETE FROM temp.purge_programs")
        # roots oldest first through the index isolates_ended (named: with no statistics SQLite
        # would rather walk every done row by status), less those whose tree holds a row still
        # live or too young
        db.execute(_PURGE_ROOTS.format(marks=marks), (before, *wanted, *wanted, before, limit))
        roots = [r[0] for r in db.execute("SELECT id FROM temp.purge_roots ORDER BY id")]
        counts: dict[str, Any] = {"trees": len(roots), "roots": roots}
        tree = "root_id IN (SELECT id FROM temp.purge_roots)"
        if roots:
            db.execute(f"INSERT OR IGNORE INTO temp.purge_programs (hash) SELECT program_hash FROM isolates WHERE {tree}")
            # ids are never given out again (idempotency keys are made of them): remember the
            # largest ones deleted, as ending a tree does for its objects
            for kind, sql in (("isolate", f"SELECT max(id) AS m FROM isolates WHERE {tree}"),
                              ("queue", f"SELECT max(id) AS m FROM queues WHERE {tree}"),
                              ("lock", f"SELECT max(id) AS m FROM locks WHERE {tree}"),
                              ("wg", f"SELECT max(id) AS m FROM waitgroups WHERE {tree}"),
                              ("seq", f"SELECT max(seq) AS m FROM queue_items WHERE queue_id IN "
                                      f"(SELECT id FROM queues WHERE {tree})")):
                db.execute(f"INSERT INTO store_info (key, value) SELECT 'freed_{kind}', m FROM ({sql}) "
                           "WHERE m IS NOT NULL ON CONFLICT (key) DO UPDATE SET value = "
                           "max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))")
            counts["log_lines"] = db.execute(
                f"DELETE FROM isolate_log WHERE isolate_id IN (SELECT id FROM isolates WHERE {tree})").rowcount
            db.execute(f"DELETE FROM queue_items WHERE queue_id IN (SELECT id FROM queues WHERE {tree})")
            for table in _TREE_TABLES:
                counts[table] = db.execute(f"DELETE FROM {table} WHERE {tree}").rowcount
            counts["isolates"] = db.execute(f"DELETE FROM isolates WHERE {tree}").rowcount
            counts["programs"] = db.execute(
                "DELETE FROM programs WHERE hash IN (SELECT hash FROM temp.purge_programs) "
                "AND NOT EXISTS (SELECT 1 FROM isolates WHERE program_hash = programs.hash)").rowcount
        else:
            counts.update({k: 0 for k in ("log_lines", *_TREE_TABLES, "isolates", "programs")})
        counts["requests"] = db.execute(
            "DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE done_at IS NOT NULL AND done_at < ? "
            "LIMIT ?)", (before, limit)).rowcount
        return counts

    # -- requests from other processes -------------------------------------------------

    @_locked
    def file_request(self, verb: str, name: str, args: str) -> int:
        def do() -> int:
            cur = self.db.execute("INSERT INTO requests (verb, name, args, created_at) VALUES (?, ?, ?, ?)",
                                  (verb, name, args, time.time()))
            return int(cur.lastrowid or 0)
        rid: int = self._write("file a request", do)
        return rid

    @_locked
    def pending_requests(self, limit: int) -> list[Request]:
        return [Request(*r) for r in self._all(
            "SELECT id, verb, name, args, created_at, done_at, outcome FROM requests WHERE done_at IS NULL "
            "ORDER BY id LIMIT ?", (limit,), "read requests")]

    @_locked
    def finish_request(self, request_id: int, outcome: str) -> None:
        self._write("record a request's outcome", lambda: self.db.execute(
            "UPDATE requests SET done_at = ?, outcome = ? WHERE id = ? AND done_at IS NULL",
            (time.time(), outcome, request_id)))

    @_locked
    def get_request(self, request_id: int) -> Request | None:
        r = self._one("SELECT id, verb, name, args, created_at, done_at, outcome FROM requests WHERE id = ?",
                      (request_id,))
        return Request(*r) if r else None

    @_locked
    def leases(self) -> list[tuple[str, float]]:
        return [(str(n), float(t)) for n, t in self._all("SELECT node_id, lease_until FROM nodes "
                                                         "ORDER BY lease_until DESC", (), "read leases")]

    @_locked
    def release(self, node_id: str, epoch: int) -> None:
        self._write("release the lease", lambda: self.db.execute(
            "UPDATE nodes SET lease_until = min(lease_until, ?) WHERE node_id = ? AND epoch = ?",
            (time.time(), node_id, epoch)))

    # -- reads -----------------------------------------------------------------

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        try:
            return self.db.execute(sql, args).fetchone()
        except sqlite3.Error as e:
            raise translate(e, self.path, "read") from None

    def _all(self, sql: str, args: tuple[Any, ...], doing: str) -> list[Any]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as e:
            raise translate(e, self.path, doing) from None

    @_locked
    def get_program(self, hash: bytes) -> bytes | None:
        r = self._one("SELECT body FROM programs WHERE hash = ?", (hash,))
        return r[0] if r else None

    @_locked
    def get_isolate(self, name: str) -> IsolateRow | None:
        r = self._one(_SELECT + " WHERE name = ?", (name,))
        return _row(r) if r else None

    @_locked
    def get_isolate_by_id(self, id: int) -> IsolateRow | None:
        r = self._one(_SELECT + " WHERE id = ?", (id,))
        return _row(r) if r else None

    @_locked
    def list_isolates(self, status: str | None = None, flow: str | None = None, q: str | None = None,
                      limit: int = 100, offset: int = 0) -> list[IsolateRow]:
        where, args = status_flow_terms(status, flow, "?")
        if q:
            where.append("instr(name, ?) > 0")
            args.append(q)
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id LIMIT ? OFFSET ?"
        return [_row(r) for r in self._all(sql, (*args, limit, offset), "list isolates")]

    @_locked
    def count_isolates(self) -> dict[str, int]:
        return dict(self._all("SELECT status, count(*) FROM isolates GROUP BY status", (), "count isolates"))

    @_locked
    def page_isolates(self, *, status: str | None = None, flow: str | None = None, q: str | None = None,
                      before: PageKey | None = None, limit: int = 50) -> list[IsolateSummary]:
        where, args = status_flow_terms(status, flow, "?")
        if q:
            where.append("name LIKE ? ESCAPE '\\'")
            args.append(contains_pattern(q))
        if before is not None:
            where.append("(updated_at, id) < (?, ?)")
            args += (float(before.updated_at), int(before.id))
        # named: without statistics the planner prefers the status index and sorts every row of
        # a common status (25 ms for 45 000 of 100 000) over walking this one (under 1 ms)
        sql = (f"SELECT {_SUMMARY} FROM isolates INDEXED BY isolates_recent" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY updated_at DESC, id DESC LIMIT ?")
        return [IsolateSummary(*r) for r in self._all(sql, (*args, limit), "list isolates")]

    @_locked
    def flow_names(self) -> list[str]:
        # the covering index is a third of the table's size: half the time of a table scan
        return [r[0] for r in self._all("SELECT DISTINCT flow FROM isolates INDEXED BY isolates_recent ORDER BY flow",
                                        (), "list flows")]

    @_locked
    def updated_since(self, since: float) -> list[StepCount]:
        return [StepCount(*r) for r in self._all("SELECT id, status, steps, created_at FROM isolates "
                                                 "WHERE updated_at >= ?", (since,), "read recent steps")]

    @_locked
    def children_of(self, id: int) -> list[str]:
        return [r[0] for r in self._all("SELECT name FROM isolates WHERE parent_id = ? ORDER BY id", (id,),
                                        "list children")]

    @_locked
    def read_log(self, isolate_id: int, limit: int = 100) -> list[str]:
        rows = self._all("SELECT line FROM isolate_log WHERE isolate_id = ? ORDER BY seq DESC LIMIT ?",
                         (isolate_id, limit), "read log")
        return [r[0] if type(r[0]) is str else r[0].decode("utf-8", "surrogatepass") for r in reversed(rows)]

    def _inbox_put(self, put: InboxPut, now: float) -> None:
        put.mid, put.duplicate, put.gone = 0, False, False      # a batch written again after a split
        db = self.db
        r = db.execute("SELECT coalesce(root_id, id) FROM isolates WHERE id = ?", (put.isolate_id,)).fetchone()
        if r is None:
            raise CommitRejected(f"inbox: no isolate with id {put.isolate_id}")
        root = r[0]
        if put.key is not None:
            db.execute("DELETE FROM inbox_seen WHERE created_at < ?", (now - put.keep_seen,))
            seen = db.execute("SELECT inbox_id FROM inbox_seen WHERE root_id = ? AND key = ?", (root, put.key)).fetchone()
            if seen is not None:
                put.mid, put.duplicate = int(seen[0]), True
                return
        if not db.execute(_TREE_LIVE, (root,)).fetchone()[0]:
            put.gone = True          # nothing in the tree will ever listen again
            return
        cur = db.execute("INSERT INTO inbox (isolate_id, root_id, method, route, body, headers, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", (put.isolate_id, root, put.method, put.route, put.body,
                                                          put.headers, now))
        put.mid = int(cur.lastrowid or 0)
        if put.key is not None:
            db.execute("INSERT INTO inbox_seen (root_id, key, inbox_id, created_at) VALUES (?, ?, ?, ?)",
                       (root, put.key, put.mid, now))

    @_locked
    def inbox_put(self, isolate_id: int, method: str, route: str, body: bytes, *, headers: str | None = None,
                  key: str | None = None) -> InboxPut:
        put = InboxPut(isolate_id, method, route, body, headers, key)
        self._write("inbox put", lambda: self._inbox_put(put, time.time()))
        return put

    @_locked
    def inbox_peek(self, root_id: int, method: str, route: str,
                   skip: tuple[int, ...] = ()) -> tuple[int, bytes] | None:
        but = f" AND id NOT IN ({', '.join('?' * len(skip))})" if skip else ""
        r = self._one(f"SELECT id, body FROM inbox WHERE root_id = ? AND method = ? AND route = ?{but} "
                      "ORDER BY id LIMIT 1", (root_id, method, route, *skip))
        return (r[0], r[1]) if r else None

    @_locked
    def inbox_list(self, root_id: int, limit: int = 50) -> list[InboxMessage]:
        rows = self._all("SELECT m.id, coalesce(i.name, ''), m.method, m.route, length(m.body), "
                         "substr(m.body, 1, ?), m.created_at FROM inbox m LEFT JOIN isolates i ON i.id = m.isolate_id "
                         "WHERE m.root_id = ? ORDER BY m.id LIMIT ?", (INBOX_HEAD, root_id, limit), "list inbox")
        return [InboxMessage(r[0], r[1], r[2], r[3], r[4], bytes(r[5]), r[6]) for r in rows]

    @_locked
    def storage_bytes(self, isolate_id: int) -> int:
        r = self._one("SELECT coalesce(length(snapshot), 0) + coalesce(length(result), 0) + "
                      "coalesce(length(error), 0) + length(name) + length(waiting_on) + 64 "
                      "FROM isolates WHERE id = ?", (isolate_id,))
        logs = self._one("SELECT coalesce(sum(length(line) + 16), 0) FROM isolate_log WHERE isolate_id = ?",
                         (isolate_id,))
        return int(r[0]) + int(logs[0]) if r else 0

    @_locked
    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:
            pass


def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements (they hold no semicolons inside strings)."""
    buf: list[str] = []
    for line in script.splitlines():
        stripped = line.split("--", 1)[0]
        buf.append(stripped)
        if stripped.rstrip().endswith(";"):
            stmt = "\n".join(buf).strip()
            if stmt.strip(";").strip():
                yield stmt
            buf = []
    rest = "\n".join(buf).strip()
    if rest:
        yield rest
