"""The PostgreSQL store: psycopg 3 (its C extension where built), a psycopg-pool pool, the
store's tables in one schema of the database.

The semantics are the SQLite store's (store/sqlite.py), statement for statement where they
can be; what differs, and why:

- Connections come from a pool that opens one and grows on demand up to ``pool_size``: the
  engine uses one at a time from its database thread, readers in other threads (a dashboard, a
  test) take others. They run in autocommit; a write opens a transaction.
- ``commit_batch`` goes to the server in one piece and is read back once. Whatever decides a
  batch (the node's fence, the ownership of every row it changes, each queue take) is checked
  by the statements themselves, which raise to roll it back. A batch of steps, spawns and
  children is one statement in autocommit; one with shared objects, ends or messages is a
  transaction in pipeline mode (BEGIN, statements, COMMIT, one sync). All steps' rows change in
  one UPDATE over arrays (unnest), whatever the batch size. Measured here: one step 0.4 ms (a
  bare UPDATE 0.3 ms), a batch of 500 steps about 6 ms.
- Migrations (migrations/postgres_NNNN.sql) run each in its own transaction under an advisory
  lock on the schema's name, so processes opening a fresh database at once migrate it once.
- One node per store for now, as on SQLite: ``claim`` fences every other node out (its lease
  row set to 0) and takes every unfinished isolate. Leases are on the server's clock. The nodes
  table, the epoch sequence and the (owner, epoch) fence on every write are what several nodes
  sharing one store build on.
- Log lines are BYTEA (UTF-8, surrogates kept): a TEXT column holds neither NUL nor a lone
  surrogate, and a flow may print either.
- A value PostgreSQL refuses (an int past 64 bits, a NUL in a text) fails that commit
  (``CommitRejected``), as on SQLite; a lost connection, a full disk or a read-only server is a
  ``StoreError``.

Rejected: one connection per call without a pool (a connect costs 3-5 ms here, a step well
under one); COPY for the steps' rows (it cannot update, and a staging table costs two more
statements per batch, and COPY does not run in a pipeline); asyncio psycopg (the engine's
database thread keeps the event loop free of driver work, as with SQLite; what that thread pays
is a wait for the GIL at each wake-up, hence one round trip per batch).
"""
from __future__ import annotations

import dataclasses
import functools
import re
import time
import urllib.parse
from typing import Any, Callable, TypeVar

import psycopg
import psycopg_pool
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from .._faults import fault_point
from . import migrations as _migrations
from .base import (INBOX_HEAD, TERMINAL, Commit, CommitRejected, InboxMessage, InboxPut, InboxTake, IsolateNew,
                   IsolateRow, IsolateSummary, LeaseLost, LockNew, LockSet, NotADeepslateStore, Op, PageKey,
                   ProgramPut, QueueNew, QueuePut, QueueTake, Request, SharedState, StepCount, Store, StoreError,
                   StoreFull, StoreReadOnly, StoreUnavailable, WgAdd, WgNew, check_statuses,
                   contains_pattern, status_flow_terms)

T = TypeVar("T")
Conn = psycopg.Connection[Any]

SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
CONNECT_TIMEOUT = 10          # seconds, unless the URL says (libpq's default waits for ever)

_COLS = ("id name flow program_hash parent_id root_id status snapshot wake_at waiting_on result error steps "
         "children log_seq owner epoch created_at updated_at detached args_hash").split()
_SELECT = "SELECT " + ", ".join(_COLS) + " FROM isolates"
_NEW_COLS = (*_COLS, "ended_at")
_SUMMARY = ", ".join(IsolateSummary._fields)
_REQUEST = "SELECT id, verb, name, args, created_at, done_at, outcome FROM requests"
_ENDS = "('done', 'failed', 'cancelled')"          # TERMINAL
_LIVE = "('running', 'sleeping', 'waiting')"      # the partial index isolates_owner is on this list
_NOW = "extract(epoch FROM clock_timestamp())::float8"


def _tree_live(root: str) -> str:
    """SQL: may an isolate of the tree rooted at ``root`` still run? Two seeks on (root_id, status)."""
    return (f"(EXISTS (SELECT 1 FROM isolates WHERE root_id = {root} AND status IN {_LIVE}) OR "
            f"EXISTS (SELECT 1 FROM isolates WHERE root_id = {root} AND status = 'failed' AND snapshot IS NOT NULL))")


_TREE_TABLES = ("queues", "locks", "waitgroups", "inbox", "inbox_seen")


def _owns(root: str) -> str:
    """SQL: does the tree rooted at ``root`` own a queue, lock, wait group, message or seen id?"""
    return " OR ".join(f"EXISTS (SELECT 1 FROM {t} WHERE root_id = {root})" for t in _TREE_TABLES)


# A batch goes to the server in one piece (BEGIN, its statements, COMMIT) and is read back once:
# waking up for each result costs the database thread the GIL each time, up to 5 ms while the
# event loop runs steps. So what decides a batch is checked by the server, in the statements
# themselves: a check that fails raises (deepslate_refuse, migrations/postgres_0001.sql) and the
# transaction is rolled back; its SQLSTATE says which it was.
LOST = "DSL01"          # the node's lease, or an isolate's ownership, is gone: LeaseLost
REFUSED = "DSR01"       # one commit holds what the store will not take: CommitRejected

# FOR SHARE: a takeover's write of this node's row waits for the batch, so none lands after it
_HOLDS = "SELECT 1 FROM nodes WHERE node_id = %b AND epoch = %b AND lease_until > 0 FOR SHARE"
_FENCE = f"SELECT CASE WHEN EXISTS ({_HOLDS}) THEN 0 ELSE deepslate_refuse('{LOST}', %b) END"

# The steps' rows, the isolates they create, the programs they bring and their log lines: one
# statement for a whole batch of distinct isolates (or one step), fenced itself, from arrays sent
# in binary (psycopg's text arrays cost 12 ms of CPU per 500 steps here, binary 3.5). A batch of
# steps and spawns and nothing else is this statement alone, in autocommit: one round trip, no
# BEGIN or COMMIT. A spawn's row is inserted as its step leaves it (the store on SQLite inserts,
# then updates). The ownership test compares with v's columns, v being materialized: written as
# constants, the planner took "owner = $n AND epoch = $e" for a selective filter, estimated one
# isolate and chose a nested loop that scanned the whole unnest once per isolate (200 ms for 500
# steps).
_PART_NEW = (f"ins AS (INSERT INTO isolates ({', '.join(_NEW_COLS)}) SELECT * FROM unnest(%b::bigint[], %b::text[], "
             "%b::text[], %b::bytea[], %b::bigint[], %b::bigint[], %b::text[], %b::bytea[], %b::float8[], %b::text[], "
             "%b::bytea[], %b::text[], %b::bigint[], %b::bigint[], %b::bigint[], %b::text[], %b::bigint[], "
             "%b::float8[], %b::float8[], %b::bool[], %b::bytea[], %b::float8[]))")
_PART_PROGRAMS = ("prog AS (INSERT INTO programs (hash, body, created_at) SELECT h, b, %b::float8 FROM "
                  "unnest(%b::bytea[], %b::bytea[]) AS p(h, b) ON CONFLICT (hash) DO NOTHING)")
_PART_STEPS = (
    "v AS MATERIALIZED (SELECT *, %b::float8 AS now, %b::text AS owner, %b::bigint AS epoch "
    "FROM unnest(%b::bigint[], %b::text[], %b::float8[], %b::text[], %b::bytea[], %b::text[], %b::bigint[], "
    "%b::bigint[], %b::bigint[], %b::bool[], %b::bytea[]) WITH ORDINALITY "
    "AS u(id, status, wake_at, waiting_on, result, error, steps, children, log_seq, keep, snapshot, ord)), "
    "upd AS (UPDATE isolates AS i SET status = v.status, wake_at = v.wake_at, waiting_on = v.waiting_on, "
    "result = v.result, error = v.error, steps = v.steps, children = v.children, log_seq = v.log_seq, "
    "updated_at = v.now, snapshot = CASE WHEN v.keep THEN i.snapshot ELSE v.snapshot END, "
    f"ended_at = CASE WHEN v.status IN {_ENDS} THEN v.now ELSE i.ended_at END FROM v "
    "WHERE EXISTS (SELECT 1 FROM fence) AND i.id = v.id AND i.owner = v.owner AND i.epoch = v.epoch "
    "RETURNING i.id)")
# the lines a commit printed past log_keep are not sent, so the trim (which sees the rows as
# they were before this statement) leaves exactly the last log_keep
_PART_LOG = ("lines AS (INSERT INTO isolate_log (isolate_id, seq, line) SELECT * FROM unnest(%b::bigint[], "
             "%b::bigint[], %b::bytea[]) ON CONFLICT (isolate_id, seq) DO UPDATE SET line = excluded.line), "
             "trim AS (DELETE FROM isolate_log AS l USING unnest(%b::bigint[], %b::bigint[]) AS t(id, upto) "
             "WHERE l.isolate_id = t.id AND l.seq <= t.upto)")


# One step of one isolate with nothing else (the common batch of a lone isolate): its values as
# scalars, which psycopg dumps in C; fourteen one-element arrays took 0.2 ms of CPU to dump.
_ONE_STEP = (
    f"WITH fence AS ({_HOLDS}), "
    "upd AS (UPDATE isolates SET status = %b, wake_at = %b, waiting_on = %b, result = %b, error = %b, steps = %b, "
    "children = %b, log_seq = %b, updated_at = %b, snapshot = CASE WHEN %b THEN snapshot ELSE %b END, "
    "ended_at = coalesce(%b::float8, ended_at) "
    "WHERE id = %b AND owner = %b AND epoch = %b AND EXISTS (SELECT 1 FROM fence) RETURNING id) "
    f"SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM fence) THEN deepslate_refuse('{LOST}', %b) "
    f"WHEN NOT EXISTS (SELECT 1 FROM upd) THEN deepslate_refuse('{LOST}', %b) ELSE 0 END")


@functools.lru_cache(maxsize=None)
def _steps_sql(new: bool, programs: bool, steps: bool, log: bool) -> str:
    """The batch statement with the parts a batch has: a part of empty arrays would be planned and
    run all the same."""
    parts = [f"fence AS ({_HOLDS})"]
    parts += [_PART_NEW] if new else []
    parts += [_PART_PROGRAMS] if programs else []
    parts += [_PART_STEPS] if steps else []
    parts += [_PART_LOG] if log else []
    check = f"SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM fence) THEN deepslate_refuse('{LOST}', %b) "
    if steps:
        check += ("WHEN (SELECT count(*) FROM upd) <> (SELECT count(*) FROM v) THEN "
                  f"deepslate_refuse('{LOST}', (SELECT format('isolate %%s is not owned by node %%L at epoch %%s; "
                  "another process took over', v.id, v.owner, v.epoch) FROM v WHERE v.id NOT IN "
                  "(SELECT id FROM upd) ORDER BY v.ord LIMIT 1)) ")
    return "WITH " + ", ".join(parts) + " " + check + "ELSE 0 END"
_TAKE = ("WITH d AS (DELETE FROM queue_items WHERE queue_id = %s AND seq = %s RETURNING 1) "
         f"SELECT CASE WHEN count(*) = 1 THEN 0 ELSE deepslate_refuse('{REFUSED}', %s) END FROM d")
# The trees these ends left with nothing that can run again lose their objects, in one statement
# (its parts see the rows as they were before it); it returns (isolate, root) of the ends that
# collected a tree. The highest ids deleted are kept, so that they are never handed out again.
_COLLECT = "WITH " + ", ".join([
    f"ended AS (SELECT i.id, i.root_id FROM isolates AS i WHERE i.id = ANY(%(ended)s) AND ({_owns('i.root_id')}))",
    f"dead AS (SELECT DISTINCT root_id FROM ended WHERE NOT {_tree_live('ended.root_id')})",
    "freed AS (INSERT INTO store_info (key, value) SELECT 'freed_' || kind, m::text FROM ("
    "SELECT 'queue' AS kind, max(id) AS m FROM queues WHERE root_id IN (SELECT root_id FROM dead) "
    "UNION ALL SELECT 'lock', max(id) FROM locks WHERE root_id IN (SELECT root_id FROM dead) "
    "UNION ALL SELECT 'wg', max(id) FROM waitgroups WHERE root_id IN (SELECT root_id FROM dead) "
    "UNION ALL SELECT 'seq', max(seq) FROM queue_items WHERE queue_id IN "
    "(SELECT id FROM queues WHERE root_id IN (SELECT root_id FROM dead))) AS f WHERE m IS NOT NULL "
    "ON CONFLICT (key) DO UPDATE SET value = greatest(store_info.value::bigint, excluded.value::bigint)::text)",
    "items AS (DELETE FROM queue_items WHERE queue_id IN (SELECT id FROM queues WHERE root_id IN "
    "(SELECT root_id FROM dead)))",
    *(f"gone_{t} AS (DELETE FROM {t} WHERE root_id IN (SELECT root_id FROM dead))" for t in _TREE_TABLES),
]) + " SELECT ended.id, ended.root_id FROM ended JOIN dead USING (root_id) ORDER BY ended.id"
# one inbound message: the expired delivery ids go first (a statement of their own, so the
# insert below sees them gone), then this, whose row says what became of the message
_SEEN_EXPIRE = "DELETE FROM inbox_seen WHERE created_at < %s"
_INBOX_PUT = (
    "WITH r AS (SELECT coalesce(root_id, id) AS root FROM isolates WHERE id = %(iid)s), "
    "seen AS (SELECT s.inbox_id FROM inbox_seen AS s, r WHERE %(key)s::text IS NOT NULL AND s.root_id = r.root "
    "AND s.key = %(key)s), "
    f"live AS (SELECT {_tree_live('r.root')} AS live FROM r), "
    "ins AS (INSERT INTO inbox (isolate_id, root_id, method, route, body, headers, created_at) "
    "SELECT %(iid)s, r.root, %(method)s, %(route)s, %(body)s, %(headers)s, %(now)s FROM r, live "
    "WHERE live.live AND NOT EXISTS (SELECT 1 FROM seen) RETURNING id, root_id), "
    "mark AS (INSERT INTO inbox_seen (root_id, key, inbox_id, created_at) "
    "SELECT root_id, %(key)s, id, %(now)s FROM ins WHERE %(key)s::text IS NOT NULL) "
    "SELECT (SELECT root FROM r), (SELECT inbox_id FROM seen), (SELECT live FROM live), (SELECT id FROM ins), "
    f"CASE WHEN EXISTS (SELECT 1 FROM r) THEN 0 ELSE deepslate_refuse('{REFUSED}', "
    "format('inbox: no isolate with id %%s', %(iid)s::bigint)) END")


# finished roots whose whole tree is of the statuses purged and ended before the cut
_PURGE_ROOTS = ("SELECT r.id FROM isolates AS r WHERE r.ended_at < %s AND r.status = ANY(%s) AND r.parent_id IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM isolates AS c WHERE c.root_id = r.id AND (c.status <> ALL(%s) "
                "OR c.ended_at IS NULL OR c.ended_at >= %s))")


class _RolledBack(Exception):
    """A dry run's transaction is undone on purpose."""


def _ends_tree_part(c: Commit) -> bool:
    """Whether the commit ends its isolate for good (not a failure that keeps its snapshot for retry)."""
    return c.status in TERMINAL and (c.status != "failed" or (c.snapshot is None and not c.keep_snapshot))


def _row(r: tuple[Any, ...]) -> IsolateRow:
    return IsolateRow(**dict(zip(_COLS, r)))


def _line(line: str) -> bytes:
    return line.encode("utf-8", "surrogatepass")


# -- URLs ----------------------------------------------------------------------------------

def redact(url: str) -> str:
    """``url`` with its password (after the user name, or a ``password`` parameter) shown as ***."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<a URL that cannot be parsed>"
    netloc = parts.netloc
    user, at, host = netloc.rpartition("@")
    if at and ":" in user:
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", parts.query)
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def check_url(url: Any) -> dict[str, Any]:
    """The connection parameters of a ``postgres://`` or ``postgresql://`` URL; ValueError
    naming what is wrong (and the URL without its password) otherwise."""
    if not isinstance(url, str):
        raise TypeError(f"dburl must be a str (postgres://user:password@host:port/database), "
                        f"not {type(url).__name__}")
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in ("postgres", "postgresql"):
        raise ValueError(f"dburl must be a postgres:// or postgresql:// URL, not {redact(url)!r}")
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as e:
        raise ValueError(f"dburl {redact(url)!r} cannot be read: {_scrub(str(e), url)}") from None
    return params


def _scrub(text: str, url: str, params: dict[str, Any] | None = None) -> str:
    """``text`` with the URL's password taken out (libpq does not print it; this makes sure)."""
    secrets = {urllib.parse.urlsplit(url).password or "", str((params or {}).get("password") or "")}
    for s in secrets:
        if len(s) >= 3:
            text = text.replace(s, "***")
    return text


def _unavailable(e: BaseException, url: str, params: dict[str, Any]) -> StoreUnavailable:
    msg = " ".join(_scrub(str(e), url, params).split())
    low = msg.lower()
    if "password" in low or "authentication failed" in low or ("role" in low and "does not exist" in low):
        why = "the server refused the user name or password"
    elif "database" in low and "does not exist" in low:
        why = f"the database {params.get('dbname', '')!r} does not exist on that server"
    elif any(s in low for s in ("refused", "timeout", "timed out", "could not translate", "no route", "unreachable",
                                "could not connect", "server closed")):
        why = "the server cannot be reached (is PostgreSQL running there?)"
    else:
        why = "cannot connect"
    return StoreUnavailable(f"cannot open PostgreSQL store {redact(url)}: {why} ({msg})")


class PostgresStore(Store):
    """A deepslate store in schema ``schema`` (created when missing) of the PostgreSQL database at
    ``url``. ``pool_size`` is the most connections it opens; ``lease_seconds`` the lease ``claim``
    and ``heartbeat`` give when not told otherwise; ``log_keep`` the log lines kept per isolate."""

    def __init__(self, url: str, *, schema: str = "deepslate", pool_size: int = 10, lease_seconds: float = 30.0,
                 log_keep: int = 200, pool_timeout: float = 30.0, create: bool = True):
        params = check_url(url)
        if not isinstance(schema, str) or not SCHEMA.match(schema):
            raise ValueError(f"schema must be a lower-case SQL name ([a-z_][a-z0-9_]*, at most 63 characters), "
                             f"not {schema!r}")
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise ValueError(f"pool_size must be an int of at least 1, not {pool_size!r}")
        if not lease_seconds > 0:
            raise ValueError(f"lease_seconds must be positive, not {lease_seconds!r}")
        self.url = redact(url)
        self.path = self.url
        self._url = url             # with its password, for another() alone
        self.schema = schema
        self.lease_seconds = float(lease_seconds)
        self.log_keep = log_keep
        self.pool_size = pool_size
        options = " ".join(filter(None, [params.get("options"), f"-c search_path={schema}"]))
        self._conninfo = make_conninfo(url, options=options,
                                       connect_timeout=params.get("connect_timeout") or CONNECT_TIMEOUT,
                                       application_name=params.get("application_name") or "deepslate")
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.OperationalError as e:
            raise _unavailable(e, url, params) from None
        try:
            if not create:
                self._exists(conn)
            self._migrate(conn)
        except psycopg.Error as e:
            raise self._translate(e, "open") from None
        finally:
            conn.close()
        # min_size 1: connections beyond the engine's one are opened when callers wait, so a
        # large pool_size costs nothing on a server whose max_connections others share
        self._pool = psycopg_pool.ConnectionPool(self._conninfo, min_size=1, max_size=pool_size,
                                                 kwargs={"autocommit": True}, open=False, timeout=pool_timeout,
                                                 name=f"deepslate {schema}")
        try:
            self._pool.open(wait=True, timeout=float(params.get("connect_timeout") or CONNECT_TIMEOUT))
        except psycopg_pool.PoolTimeout as e:
            self._pool.close()
            raise _unavailable(e, url, params) from None

    def another(self, pool_size: int = 2) -> "PostgresStore":
        """A store of its own (its own connection pool) on the same database and schema: for a
        reader, such as the inspector, that must not wait behind the engine's connections."""
        return PostgresStore(self._url, schema=self.schema, pool_size=pool_size, lease_seconds=self.lease_seconds,
                             log_keep=self.log_keep)

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r}, schema={self.schema!r})"

    # -- errors ----------------------------------------------------------------------------

    def _where(self) -> str:
        return f"store {self.url} (schema {self.schema})"

    def _translate(self, e: BaseException, doing: str) -> StoreError | CommitRejected:
        """A driver error as a StoreError naming the store and the cause, or as a CommitRejected
        when what failed is a value of the write, not the store."""
        where = self._where()
        if isinstance(e, psycopg_pool.PoolTimeout):
            return StoreUnavailable(f"{where}: no connection free or openable ({doing}): {e}")
        if isinstance(e, psycopg_pool.PoolClosed):
            return StoreError(f"{where} is closed ({doing})")
        state = getattr(e, "sqlstate", None) or ""
        msg = " ".join(str(e).split())
        if state == LOST:
            return LeaseLost(f"{where}: {msg}")
        if state == REFUSED:
            return CommitRejected(msg)
        if isinstance(e, (psycopg.DataError, psycopg.IntegrityError)) or state[:2] in ("22", "23", "54"):
            return CommitRejected(f"{where} refused a value ({doing}): {msg}")
        if state == "53100":
            return StoreFull(f"{where}: the server's disk is full ({doing}): {msg}; nothing of this write was kept")
        if state == "25006":
            return StoreReadOnly(f"{where} is read-only ({doing}): {msg}")
        if isinstance(e, psycopg.OperationalError) and state[:2] in ("", "08", "57"):
            return StoreUnavailable(f"{where}: the connection to the server failed ({doing}): {msg}")
        return StoreError(f"{where}: {doing} failed: {msg}")

    # -- opening ---------------------------------------------------------------------------

    def _lock(self, conn: Conn, what: str) -> None:
        """A transaction-long advisory lock on ``what`` of this store's schema."""
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"deepslate {what} {self.schema}",))

    def _version(self, conn: Conn) -> int:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1",
                                             (self.schema,))]
        if not tables:
            return 0
        if "deepslate_schema" not in tables:
            raise NotADeepslateStore(f"schema {self.schema!r} of {self.url} holds tables but is not a deepslate "
                                     f"store (tables: {', '.join(tables[:5])})")
        row = conn.execute("SELECT version FROM deepslate_schema").fetchone()
        return int(row[0]) if row else 0

    def _exists(self, conn: Conn) -> None:
        """StoreError unless the schema holds a deepslate store (a command that only looks at a
        store must not create one where its URL has a typo)."""
        if self._version(conn) == 0:
            conn.close()
            raise StoreError(f"no deepslate store in schema {self.schema!r} of {self.url} "
                             "(new_postgres creates one; ?schema=NAME names another)")

    def _migrate(self, conn: Conn) -> None:
        scripts = _migrations.migrations("postgres")
        while True:
            with conn.transaction():
                self._lock(conn, "migrate")       # one runner at a time, across processes
                if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,)).fetchone() is None:
                    conn.execute(f"CREATE SCHEMA {self.schema}")
                v = self._version(conn)
                if v > len(scripts):
                    raise StoreError(f"{self._where()} has schema version {v}, newer than this deepslate knows "
                                     f"({len(scripts)}); upgrade deepslate")
                if v == len(scripts):
                    # a server that only reads (a standby, default_transaction_read_only) says so now
                    conn.execute("UPDATE deepslate_schema SET version = version")
                    return
                if v == 0:
                    conn.execute("CREATE TABLE deepslate_schema (version INTEGER NOT NULL)")
                    conn.execute("INSERT INTO deepslate_schema VALUES (0)")
                conn.execute(scripts[v])
                conn.execute("UPDATE deepslate_schema SET version = %s", (v + 1,))

    # -- running statements -----------------------------------------------------------------

    def _read(self, doing: str, fn: Callable[[Conn], T]) -> T:
        try:
            with self._pool.connection() as conn:
                return fn(conn)
        except (psycopg.Error, psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed) as e:
            raise self._translate(e, doing) from None

    def _all(self, sql: str, args: Any, doing: str) -> list[tuple[Any, ...]]:
        return self._read(doing, lambda conn: conn.execute(sql, args).fetchall())

    def _one(self, sql: str, args: Any, doing: str = "read") -> tuple[Any, ...] | None:
        return self._read(doing, lambda conn: conn.execute(sql, args).fetchone())

    def _write(self, doing: str, fn: Callable[[Conn], T]) -> T:
        try:
            with self._pool.connection() as conn:
                with conn.transaction():
                    return fn(conn)
        except (psycopg.Error, psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed) as e:
            raise self._translate(e, doing) from None

    def schema_version(self) -> int:
        return self._read("read the schema version", self._version)

    def store_id(self) -> str:
        r = self._one("SELECT value FROM store_info WHERE key = 'store_id'", ())
        assert r is not None
        return str(r[0])

    # -- ownership -------------------------------------------------------------------------

    def _not_owned(self, isolate_id: int, node_id: str, epoch: int) -> LeaseLost:
        """Every fenced write that matched no row: another node owns the isolate now."""
        return LeaseLost(f"{self._where()}: isolate {isolate_id} is not owned by node {node_id!r} at epoch {epoch}; "
                         "another process took over")

    def _lease_lost(self, node_id: str, epoch: int) -> LeaseLost:
        return LeaseLost(f"{self._where()}: node {node_id!r} lost its lease (epoch {epoch}); "
                         "another process took over")

    def claim(self, node_id: str, lease_seconds: float | None = None) -> int:
        lease = self.lease_seconds if lease_seconds is None else lease_seconds

        def do(conn: Conn) -> int:
            self._lock(conn, "claim")
            row = conn.execute("SELECT nextval('node_epochs')").fetchone()
            assert row is not None
            epoch = int(row[0])
            conn.execute(f"INSERT INTO nodes (node_id, epoch, lease_until) VALUES (%s, %s, {_NOW} + %s) "
                         "ON CONFLICT (node_id) DO UPDATE SET epoch = excluded.epoch, lease_until = excluded.lease_until",
                         (node_id, epoch, lease))
            # one node per store for now: every other node is fenced out
            conn.execute("UPDATE nodes SET lease_until = 0 WHERE node_id <> %s", (node_id,))
            conn.execute(f"UPDATE isolates SET owner = %s, epoch = %s WHERE status IN {_LIVE}", (node_id, epoch))
            return epoch
        return self._write("claim", do)

    def heartbeat(self, node_id: str, epoch: int, lease_seconds: float | None = None) -> None:
        lease = self.lease_seconds if lease_seconds is None else lease_seconds

        def do(conn: Conn) -> None:
            cur = conn.execute(f"UPDATE nodes SET lease_until = {_NOW} + %s "
                               "WHERE node_id = %s AND epoch = %s AND lease_until > 0", (lease, node_id, epoch))
            if cur.rowcount != 1:
                raise self._lease_lost(node_id, epoch)
        self._write("heartbeat", do)

    # -- loading -----------------------------------------------------------------------------

    def load_unfinished(self, node_id: str, epoch: int) -> list[IsolateRow]:
        return [_row(r) for r in self._all(_SELECT + f" WHERE status IN {_LIVE} AND owner = %s AND epoch = %s "
                                           "ORDER BY id", (node_id, epoch), "load isolates")]

    def load_shared(self) -> SharedState:
        def do(conn: Conn) -> SharedState:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")     # one view of every table
            queues: dict[int, tuple[int, str, list[tuple[int, bytes]]]] = {
                qid: (cap, elem, []) for qid, cap, elem in conn.execute("SELECT id, capacity, elem FROM queues")}
            for qid, seq, value in conn.execute("SELECT queue_id, seq, value FROM queue_items ORDER BY seq"):
                if qid in queues:
                    queues[qid][2].append((seq, value))
            locks: dict[int, int | None] = dict(conn.execute("SELECT id, holder FROM locks").fetchall())
            wgs: dict[int, int] = dict(conn.execute("SELECT id, count FROM waitgroups").fetchall())
            roots: dict[tuple[str, int], int] = {}
            for kind, table in (("queue", "queues"), ("lock", "locks"), ("wg", "waitgroups")):
                for oid, root in conn.execute(f"SELECT id, root_id FROM {table} WHERE root_id IS NOT NULL"):
                    roots[kind, oid] = root
            freed = dict(conn.execute("SELECT key, value::bigint FROM store_info WHERE starts_with(key, 'freed_')"))

            def nxt(kind: str, sql: str) -> int:
                # past every id ever used, also those deleted with their tree: an id is never reused
                row = conn.execute(sql).fetchone()
                return max(int(row[0] or 0) if row else 0, int(freed.get(f"freed_{kind}", 0))) + 1
            next_ids = {"isolate": nxt("isolate", "SELECT max(id) FROM isolates"),
                        "queue": nxt("queue", "SELECT max(id) FROM queues"),
                        "lock": nxt("lock", "SELECT max(id) FROM locks"),
                        "wg": nxt("wg", "SELECT max(id) FROM waitgroups"),
                        "seq": nxt("seq", "SELECT max(seq) FROM queue_items")}
            return SharedState(queues, locks, wgs, next_ids, roots)
        return self._write("load shared state", do)

    # -- the step transaction ----------------------------------------------------------------

    def commit_batch(self, node_id: str, epoch: int, commits: list[Commit]) -> None:
        try:
            with self._pool.connection() as conn:
                batch = _Batch(self, conn, node_id, epoch, commits)
                if batch.steps_only():
                    batch.write_steps()
                else:
                    with conn.pipeline():
                        with conn.transaction():
                            batch.write()
                batch.settle()
        except (psycopg.Error, psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed) as e:
            err = self._translate(e, f"commit of {len(commits)} steps")
            # a value psycopg refused before anything reached the server (an int past 64 bits
            # in a scalar) from a node that has lost its lease is the lease's fault: no isolate
            # fails for it
            if isinstance(err, CommitRejected) and not self._holds_lease(node_id, epoch):
                raise self._lease_lost(node_id, epoch) from None
            raise err from None

    def _holds_lease(self, node_id: str, epoch: int) -> bool:
        return self._one("SELECT 1 FROM nodes WHERE node_id = %s AND epoch = %s AND lease_until > 0",
                         (node_id, epoch), "check the lease") is not None

    def mark_failed(self, node_id: str, epoch: int, isolate_id: int, error: str) -> None:
        def do(conn: Conn) -> None:
            now = time.time()
            cur = conn.execute("UPDATE isolates SET status = 'failed', error = %s, updated_at = %s, ended_at = %s "
                               "WHERE id = %s AND owner = %s AND epoch = %s",
                               (error, now, now, isolate_id, node_id, epoch))
            if cur.rowcount != 1:
                raise self._not_owned(isolate_id, node_id, epoch)
            # a failed isolate holds no lock (else nobody could ever take it)
            conn.execute("UPDATE locks SET holder = NULL WHERE holder = %s", (isolate_id,))
        self._write("mark failed", do)

    def adopt_failed(self, node_id: str, epoch: int, isolate_id: int, status: str,
                     updated_at: float | None = None) -> bool:
        def do(conn: Conn) -> bool:
            seen = "" if updated_at is None else " AND updated_at = %s"
            cur = conn.execute("UPDATE isolates SET status = %s, owner = %s, epoch = %s, updated_at = %s, "
                               "ended_at = NULL WHERE id = %s AND status = 'failed' AND snapshot IS NOT NULL" + seen,
                               (status, node_id, epoch, time.time(), isolate_id,
                                *(() if updated_at is None else (updated_at,))))
            return cur.rowcount == 1
        return self._write("adopt a failed isolate", do)

    # -- retention -------------------------------------------------------------------------

    def _purge_trees(self, wanted: tuple[str, ...], before: float, limit: int, dry_run: bool) -> dict[str, Any]:
        counts: dict[str, Any] = {}

        def do(conn: Conn) -> None:
            counts.update(self._purge(conn, list(wanted), before, limit))
            if dry_run:
                raise _RolledBack
        try:
            self._write("purge", do)
        except _RolledBack:
            pass
        return counts

    def _purge(self, conn: Conn, wanted: list[str], before: float, limit: int) -> dict[str, Any]:
        roots = [int(r[0]) for r in conn.execute(_PURGE_ROOTS + " ORDER BY r.ended_at, r.id LIMIT %s",
                                                 (before, wanted, wanted, before, limit))]
        if roots:
            # lock the trees' rows, then look again: a retry that adopted one of them meanwhile
            # keeps its tree, and one that comes after waits and then finds no row
            conn.execute("SELECT 1 FROM isolates WHERE root_id = ANY(%s) ORDER BY id FOR UPDATE", (roots,))
            roots = [int(r[0]) for r in conn.execute(_PURGE_ROOTS + " AND r.id = ANY(%s)",
                                                     (before, wanted, wanted, before, roots))]
        roots.sort()
        counts: dict[str, Any] = {"trees": len(roots), "roots": roots}
        if roots:
            tree = "root_id = ANY(%(roots)s)"
            args = {"roots": roots}
            programs = [bytes(r[0]) for r in conn.execute(
                f"SELECT DISTINCT program_hash FROM isolates WHERE {tree}", args)]
            # ids are never given out again (idempotency keys are made of them): remember the
            # largest ones deleted, as ending a tree does for its objects
            conn.execute(
                "INSERT INTO store_info (key, value) SELECT 'freed_' || kind, m::text FROM ("
                f"SELECT 'isolate' AS kind, max(id) AS m FROM isolates WHERE {tree} "
                f"UNION ALL SELECT 'queue', max(id) FROM queues WHERE {tree} "
                f"UNION ALL SELECT 'lock', max(id) FROM locks WHERE {tree} "
                f"UNION ALL SELECT 'wg', max(id) FROM waitgroups WHERE {tree} "
                f"UNION ALL SELECT 'seq', max(seq) FROM queue_items WHERE queue_id IN "
                f"(SELECT id FROM queues WHERE {tree})) AS f WHERE m IS NOT NULL "
                "ON CONFLICT (key) DO UPDATE SET value = greatest(store_info.value::bigint, excluded.value::bigint)::text",
                args)
            counts["log_lines"] = conn.execute(
                f"DELETE FROM isolate_log WHERE isolate_id IN (SELECT id FROM isolates WHERE {tree})", args).rowcount
            conn.execute(f"DELETE FROM queue_items WHERE queue_id IN (SELECT id FROM queues WHERE {tree})", args)
            for table in _TREE_TABLES:
                counts[table] = conn.execute(f"DELETE FROM {table} WHERE {tree}", args).rowcount
            counts["isolates"] = conn.execute(f"DELETE FROM isolates WHERE {tree}", args).rowcount
            counts["programs"] = conn.execute(
                "DELETE FROM programs WHERE hash = ANY(%s) "
                "AND NOT EXISTS (SELECT 1 FROM isolates WHERE program_hash = programs.hash)", (programs,)).rowcount
        else:
            counts.update({k: 0 for k in ("log_lines", *_TREE_TABLES, "isolates", "programs")})
        counts["requests"] = conn.execute(
            "DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE done_at IS NOT NULL AND done_at < %s "
            "LIMIT %s)", (before, limit)).rowcount
        return counts

    # -- requests from other processes ---------------------------------------------------------

    def file_request(self, verb: str, name: str, args: str) -> int:
        def do(conn: Conn) -> int:
            row = conn.execute("INSERT INTO requests (verb, name, args, created_at) VALUES (%s, %s, %s, %s) "
                               "RETURNING id", (verb, name, args, time.time())).fetchone()
            assert row is not None
            return int(row[0])
        return self._write("file a request", do)

    def pending_requests(self, limit: int) -> list[Request]:
        return [Request(*r) for r in self._all(_REQUEST + " WHERE done_at IS NULL ORDER BY id LIMIT %s", (limit,),
                                               "read requests")]

    def finish_request(self, request_id: int, outcome: str) -> None:
        self._write("record a request's outcome", lambda conn: conn.execute(
            "UPDATE requests SET done_at = %s, outcome = %s WHERE id = %s AND done_at IS NULL",
            (time.time(), outcome, request_id)))

    def get_request(self, request_id: int) -> Request | None:
        r = self._one(_REQUEST + " WHERE id = %s", (request_id,), "read a request")
        return Request(*r) if r else None

    def leases(self) -> list[tuple[str, float]]:
        return [(str(n), float(t)) for n, t in self._all("SELECT node_id, lease_until FROM nodes "
                                                         "ORDER BY lease_until DESC", (), "read leases")]

    def release(self, node_id: str, epoch: int) -> None:
        self._write("release the lease", lambda conn: conn.execute(
            f"UPDATE nodes SET lease_until = least(lease_until, {_NOW}) WHERE node_id = %s AND epoch = %s",
            (node_id, epoch)))

    def orphans(self, parent_id: int | None = None) -> list[IsolateRow]:
        cols = ", ".join(f"c.{c}" for c in _COLS)
        sql = (f"SELECT {cols} FROM isolates AS c JOIN isolates AS p ON p.id = c.parent_id "
               f"WHERE NOT c.detached AND (c.status IN {_LIVE} OR (c.status = 'failed' AND c.snapshot IS NOT NULL)) "
               "AND (p.status IN ('done', 'cancelled') OR (p.status = 'failed' AND p.snapshot IS NULL))")
        if parent_id is None:
            return [_row(r) for r in self._all(sql + " ORDER BY c.id", (), "find orphaned children")]
        return [_row(r) for r in self._all(sql + " AND c.parent_id = %s ORDER BY c.id", (parent_id,),
                                           "find orphaned children")]

    # -- reads -------------------------------------------------------------------------------

    def get_program(self, hash: bytes) -> bytes | None:
        r = self._one("SELECT body FROM programs WHERE hash = %s", (hash,))
        return bytes(r[0]) if r else None

    def get_isolate(self, name: str) -> IsolateRow | None:
        r = self._one(_SELECT + " WHERE name = %s", (name,))
        return _row(r) if r else None

    def get_isolate_by_id(self, id: int) -> IsolateRow | None:
        r = self._one(_SELECT + " WHERE id = %s", (id,))
        return _row(r) if r else None

    def list_isolates(self, status: str | None = None, flow: str | None = None, q: str | None = None,
                      limit: int = 100, offset: int = 0) -> list[IsolateRow]:
        where, args = status_flow_terms(status, flow, "%s")
        if q:
            where.append("strpos(name, %s) > 0")
            args.append(q)
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id LIMIT %s OFFSET %s"
        return [_row(r) for r in self._all(sql, (*args, limit, offset), "list isolates")]

    def count_isolates(self) -> dict[str, int]:
        return {s: int(n) for s, n in self._all("SELECT status, count(*) FROM isolates GROUP BY status", (),
                                                "count isolates")}

    def page_isolates(self, *, status: str | None = None, flow: str | None = None, q: str | None = None,
                      before: PageKey | None = None, limit: int = 50) -> list[IsolateSummary]:
        where, args = status_flow_terms(status, flow, "%s")
        if q:
            # ILIKE: SQLite's LIKE ignores the case (of ASCII letters)
            where.append("name ILIKE %s ESCAPE '\\'")
            args.append(contains_pattern(q))
        if before is not None:
            where.append("(updated_at, id) < (%s, %s)")
            args += (float(before.updated_at), int(before.id))
        sql = (f"SELECT {_SUMMARY} FROM isolates" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY updated_at DESC, id DESC LIMIT %s")
        return [IsolateSummary(*r) for r in self._all(sql, (*args, limit), "list isolates")]

    def flow_names(self) -> list[str]:
        # COLLATE "C": sorted as Python and SQLite sort, whatever the database's collation
        return [r[0] for r in self._all('SELECT flow FROM (SELECT DISTINCT flow FROM isolates) AS f '
                                        'ORDER BY flow COLLATE "C"', (), "list flows")]

    def updated_since(self, since: float) -> list[StepCount]:
        return [StepCount(*r) for r in self._all("SELECT id, status, steps, created_at FROM isolates "
                                                 "WHERE updated_at >= %s", (since,), "read recent steps")]

    def children_of(self, id: int) -> list[str]:
        return [r[0] for r in self._all("SELECT name FROM isolates WHERE parent_id = %s ORDER BY id", (id,),
                                        "list children")]

    def read_log(self, isolate_id: int, limit: int = 100) -> list[str]:
        rows = self._all("SELECT line FROM isolate_log WHERE isolate_id = %s ORDER BY seq DESC LIMIT %s",
                         (isolate_id, limit), "read log")
        return [bytes(r[0]).decode("utf-8", "surrogatepass") for r in reversed(rows)]

    def inbox_put(self, isolate_id: int, method: str, route: str, body: bytes, *, headers: str | None = None,
                  key: str | None = None) -> InboxPut:
        put = InboxPut(isolate_id, method, route, body, headers, key)

        def do(conn: Conn) -> None:
            if key is not None:
                conn.execute(_SEEN_EXPIRE, (time.time() - put.keep_seen,))
            _inbox_outcome(put, conn.execute(_INBOX_PUT, _inbox_args(put, time.time())).fetchone())
        self._write("inbox put", do)
        return put

    def inbox_peek(self, root_id: int, method: str, route: str,
                   skip: tuple[int, ...] = ()) -> tuple[int, bytes] | None:
        r = self._one("SELECT id, body FROM inbox WHERE root_id = %s AND method = %s AND route = %s "
                      "AND id <> ALL(%s) ORDER BY id LIMIT 1", (root_id, method, route, list(skip)))
        return (int(r[0]), bytes(r[1])) if r else None

    def inbox_list(self, root_id: int, limit: int = 50) -> list[InboxMessage]:
        rows = self._all("SELECT m.id, coalesce(i.name, ''), m.method, m.route, octet_length(m.body), "
                         "substr(m.body, 1, %s), m.created_at FROM inbox AS m LEFT JOIN isolates AS i "
                         "ON i.id = m.isolate_id WHERE m.root_id = %s ORDER BY m.id LIMIT %s",
                         (INBOX_HEAD, root_id, limit), "list inbox")
        return [InboxMessage(r[0], r[1], r[2], r[3], r[4], bytes(r[5]), r[6]) for r in rows]

    def storage_bytes(self, isolate_id: int) -> int:
        r = self._one("SELECT coalesce(octet_length(snapshot), 0) + coalesce(octet_length(result), 0) + "
                      "coalesce(octet_length(error), 0) + octet_length(name) + octet_length(waiting_on) + 64 "
                      "FROM isolates WHERE id = %s", (isolate_id,))
        logs = self._one("SELECT coalesce(sum(octet_length(line) + 16), 0) FROM isolate_log WHERE isolate_id = %s",
                         (isolate_id,))
        return int(r[0]) + int(logs[0] if logs else 0) if r else 0

    def close(self) -> None:
        self._pool.close()


def _inbox_args(put: InboxPut, now: float) -> dict[str, Any]:
    return {"iid": put.isolate_id, "key": put.key, "method": put.method, "route": put.route, "body": put.body,
            "headers": put.headers, "now": now}


def _inbox_outcome(put: InboxPut, row: tuple[Any, ...] | None) -> None:
    """Fill in ``put`` from _INBOX_PUT's row: (root, the seen message, tree live, the new message, 0)."""
    put.mid, put.duplicate, put.gone = 0, False, False      # a batch written again after a split
    root, seen, live, mid, _ = row if row is not None else (None, None, None, None, None)
    if root is None:
        raise CommitRejected(f"inbox: no isolate with id {put.isolate_id}")
    if seen is not None:
        put.mid, put.duplicate = int(seen), True
    elif not live:
        put.gone = True          # nothing in the tree will ever listen again
    else:
        put.mid = int(mid)


class _Batch:
    """One ``commit_batch``, sent in one piece: a batch of steps and spawns alone is one
    statement (``write_steps``), anything else a pipelined transaction (``write``). Its checks
    are the server's (LOST, REFUSED); what it tells besides (trees collected, messages filed) is
    read after the COMMIT by ``settle``."""

    def __init__(self, store: PostgresStore, conn: Conn, node_id: str, epoch: int, commits: list[Commit]):
        self.store, self.conn = store, conn
        self.node_id, self.epoch, self.commits = node_id, epoch, commits
        self.now = time.time()
        self.rows = [c for c in commits if c.row]
        # set-based when every commit is of a different isolate (else in order, one by one)
        self.bulk = len(self.rows) > 1 and len({c.isolate_id for c in self.rows}) == len(self.rows)
        self.collect: tuple[psycopg.Cursor[Any], list[Commit]] | None = None
        self.puts: list[tuple[psycopg.Cursor[Any], InboxPut]] = []

    def _lost(self) -> str:
        return f"node {self.node_id!r} lost its lease (epoch {self.epoch}); another process took over"

    def steps_only(self) -> bool:
        """Steps, spawns and children of distinct isolates and nothing else: no shared object,
        no message, no end that may collect a tree."""
        return (bool(self.rows) and len(self.rows) == len(self.commits) and (self.bulk or len(self.rows) == 1)
                and not any(_ends_tree_part(c) or any(not isinstance(op, _IN_STEPS) for op in c.ops)
                            for c in self.rows))

    def write_steps(self) -> None:
        fault_point("before_commit")
        self.conn.execute(*self._steps(self.rows))

    def write(self) -> None:
        conn, commits = self.conn, self.commits
        if not self.rows:                   # messages alone: nothing else checks the fence
            conn.execute(_FENCE, (self.node_id, self.epoch, self._lost()))
        if self.bulk:
            conn.execute(*self._steps(self.rows))
        for c in self.rows:
            fault_point("mid_group_commit", commits, c)
            if not self.bulk:
                conn.execute(*self._steps([c]))
            for op in c.ops:
                self._apply(op)
        ended = [c for c in self.rows if _ends_tree_part(c)]
        if ended:
            self.collect = (conn.execute(_COLLECT, {"ended": [c.isolate_id for c in ended]}), ended)
        # inbound messages last: they see the statuses this batch leaves, so none is filed under
        # a tree that one of these steps ended
        for c in commits:
            if not c.row:
                for op in c.ops:
                    self._apply(op)
        fault_point("before_commit")

    def settle(self) -> None:
        """After the COMMIT: mark the commits that collected a tree, fill in the messages' outcomes."""
        if self.collect is not None:
            cur, ended = self.collect
            by_id = {c.isolate_id: c for c in ended}
            done: set[int] = set()
            for iid, root in cur.fetchall():
                if root not in done:          # two ends of one tree: it is collected once
                    done.add(root)
                    by_id[iid].collected = int(root)
        for cur, put in self.puts:
            _inbox_outcome(put, cur.fetchone())

    def _steps(self, part: list[Commit]) -> tuple[str, list[Any]]:
        """The statement that writes ``part``'s new isolates (a spawn's row as its step leaves
        it), the programs it brings, the rows it changes and its log lines, and its parameters."""
        now, keep = self.now, self.store.log_keep
        if len(part) == 1 and not part[0].ops and part[0].create is None and not part[0].log:
            c = part[0]
            return _ONE_STEP, [self.node_id, self.epoch, c.status, c.wake_at, c.waiting_on, c.result, c.error,
                               c.steps, c.children, c.log_seq, now, bool(c.keep_snapshot),
                               None if c.keep_snapshot else c.snapshot, now if c.status in TERMINAL else None,
                               c.isolate_id, self.node_id, self.epoch,
                               self._lost(), f"isolate {c.isolate_id} is not owned by node {self.node_id!r} at "
                                             f"epoch {self.epoch}; another process took over"]
        new: list[IsolateRow] = []
        ended_new: list[float | None] = []      # a spawn that ends in its first step ended now
        programs: list[ProgramPut] = []
        steps: list[Commit] = []
        for c in part:
            for op in c.ops:
                if isinstance(op, IsolateNew):
                    new.append(op.row)
                    ended_new.append(None)
                elif isinstance(op, ProgramPut):
                    programs.append(op)
            if c.create is None:
                steps.append(c)
            else:
                r = c.create
                new.append(dataclasses.replace(
                    r, status=c.status, wake_at=c.wake_at, waiting_on=c.waiting_on, result=c.result, error=c.error,
                    steps=c.steps, children=c.children, log_seq=c.log_seq,
                    snapshot=r.snapshot if c.keep_snapshot else c.snapshot))
                ended_new.append(now if c.status in TERMINAL else None)
        args: list[Any] = [self.node_id, self.epoch]
        if new:
            n = len(new)
            fixed = {"root_id": [r.root_id if r.root_id is not None else r.id for r in new],
                     "owner": [self.node_id] * n, "epoch": [self.epoch] * n, "created_at": [now] * n,
                     "updated_at": [now] * n, "detached": [bool(r.detached) for r in new]}
            args += [fixed[col] if col in fixed else [getattr(r, col) for r in new] for col in _COLS]
            args.append(ended_new)
        if programs:
            args += [now, [p.hash for p in programs], [p.body for p in programs]]
        if steps:
            args += [now, self.node_id, self.epoch,
                     [c.isolate_id for c in steps], [c.status for c in steps], [c.wake_at for c in steps],
                     [c.waiting_on for c in steps], [c.result for c in steps], [c.error for c in steps],
                     [c.steps for c in steps], [c.children for c in steps], [c.log_seq for c in steps],
                     [bool(c.keep_snapshot) for c in steps],
                     [None if c.keep_snapshot else c.snapshot for c in steps]]
        logged = [c for c in part if c.log]
        if logged:
            ids: list[int] = []
            seqs: list[int] = []
            lines: list[bytes] = []
            for c in logged:
                first = c.log_seq - len(c.log) + 1
                for i, line in enumerate(c.log):
                    if first + i > c.log_seq - keep:
                        ids.append(c.isolate_id)
                        seqs.append(first + i)
                        lines.append(_line(line))
            args += [ids, seqs, lines, [c.isolate_id for c in logged], [c.log_seq - keep for c in logged]]
        args.append(self._lost())
        return _steps_sql(bool(new), bool(programs), bool(steps), bool(logged)), args

    def _apply(self, op: Op) -> None:
        conn = self.conn
        match op:
            case QueuePut(qid, seq, data):
                conn.execute("INSERT INTO queue_items (queue_id, seq, value) VALUES (%s, %s, %s)", (qid, seq, data))
            case QueueTake(qid, seq):
                conn.execute(_TAKE, (qid, seq, f"queue {qid}: item {seq} taken but not stored (engine bug)"))
            case LockSet(lid, holder):
                conn.execute("UPDATE locks SET holder = %s WHERE id = %s", (holder, lid))
            case WgAdd(wid, delta):
                conn.execute("UPDATE waitgroups SET count = count + %s WHERE id = %s", (delta, wid))
            case IsolateNew() | ProgramPut():
                pass                    # written by _steps_sql, with the batch's other new rows
            case QueueNew(qid, capacity, elem, root):
                conn.execute("INSERT INTO queues (id, capacity, elem, root_id) VALUES (%s, %s, %s, %s)",
                             (qid, capacity, elem, root))
            case LockNew(lid, root):
                conn.execute("INSERT INTO locks (id, holder, root_id) VALUES (%s, NULL, %s)", (lid, root))
            case WgNew(wid, root):
                conn.execute("INSERT INTO waitgroups (id, count, root_id) VALUES (%s, 0, %s)", (wid, root))
            case InboxTake(mid):
                conn.execute("DELETE FROM inbox WHERE id = %s", (mid,))
            case InboxPut():
                if op.key is not None:
                    conn.execute(_SEEN_EXPIRE, (self.now - op.keep_seen,))
                self.puts.append((conn.execute(_INBOX_PUT, _inbox_args(op, self.now)), op))
            case _:
                raise CommitRejected(f"unknown store operation {op!r}")


_IN_STEPS = (IsolateNew, ProgramPut)      # the operations the batch statement writes itself
