"""The stores tests run on: an SQLite file, or a schema of its own in a PostgreSQL database.

``DEEPSLATE_TEST_PG`` is the URL of the PostgreSQL server (default
``postgresql://postgres@127.0.0.1:5432/postgres``; ``scripts/pg-server`` starts one). Each test
gets a fresh schema, dropped after it: creating, migrating and dropping one took 50 ms here,
a database copied from a template 150 ms. A test that needs PostgreSQL and cannot reach it
fails, saying how to start a server; it is never skipped.

Worker processes get a store by a *spec* string: ``sqlite:PATH`` or ``postgres:SCHEMA`` (the
server from ``DEEPSLATE_TEST_PG``, which they inherit); ``open_spec`` and ``platform_spec``
open it.
"""
from __future__ import annotations

import os
import sqlite3
import uuid
from typing import Any

import pytest

PG_URL = os.environ.get("DEEPSLATE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
KINDS = ("sqlite", "postgres")
SCHEMA_PREFIX = "dstest_"

_reachable: str | None = None      # "" once the server answered; else why it did not


def pg_admin() -> Any:
    """An autocommit connection to the test server (no schema); fails the test when it is down."""
    global _reachable
    import psycopg
    from deepslate.store.postgres import redact
    if _reachable:
        pytest.fail(_reachable, pytrace=False)
    try:
        conn = psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        _reachable = (f"the PostgreSQL test server {redact(PG_URL)} cannot be reached: {' '.join(str(e).split())}\n"
                      "Start one with scripts/pg-server (it prints the DEEPSLATE_TEST_PG to export), or set "
                      "DEEPSLATE_TEST_PG to the URL of a server the tests may create schemas in.")
        pytest.fail(_reachable, pytrace=False)
    if _reachable is None:
        _reachable = ""
        _drop_stale(conn)
    return conn


def _drop_stale(conn: Any) -> None:
    """Drop the schemas that tests of processes no longer running left behind (a killed run)."""
    for (name,) in conn.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                                (SCHEMA_PREFIX,)).fetchall():
        pid = name[len(SCHEMA_PREFIX):].split("_")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def new_schema() -> str:
    """A schema name no other test uses (created by the store that first opens it)."""
    pg_admin().close()
    return f"{SCHEMA_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"


def drop_schema(schema: str) -> None:
    conn = pg_admin()
    try:
        conn.execute("SET lock_timeout = '20s'")     # a store left open must not hang the run
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        conn.close()


def open_spec(spec: str, **kw: Any) -> Any:
    """The store a spec names (``sqlite:PATH`` or ``postgres:SCHEMA``)."""
    kind, _, where = spec.partition(":")
    if kind == "sqlite":
        from deepslate.store import SQLiteStore
        return SQLiteStore(where, **kw)
    from deepslate.store import PostgresStore
    return PostgresStore(PG_URL, schema=where, **kw)


def platform_spec(spec: str, listen_addr: str = "127.0.0.1:0", **kw: Any) -> Any:
    """``new_sqlite`` or ``new_postgres`` on the store a spec names (node 1 on PostgreSQL)."""
    kind, _, where = spec.partition(":")
    if kind == "sqlite":
        from deepslate import new_sqlite
        return new_sqlite(where, listen_addr, **kw)[0]
    from deepslate import new_postgres
    return new_postgres(1, PG_URL, listen_addr, schema=where, **kw)[0]


class StoreUnderTest:
    """One test's store: ``open()`` opens it (again, after a restart), ``platform()`` opens it
    through the public door, ``sql()`` reads or writes it behind the store's back. Every store
    opened is closed at teardown, and a PostgreSQL schema dropped."""

    def __init__(self, kind: str, tmp_path: Any, name: str = "s"):
        self.kind = kind
        self.stores: list[Any] = []
        if kind == "sqlite":
            self.path = str(tmp_path / f"{name}.db")
            self.spec = f"sqlite:{self.path}"
        else:
            self.schema = new_schema()
            self.spec = f"postgres:{self.schema}"

    @property
    def pg(self) -> bool:
        return self.kind == "postgres"

    def open(self, **kw: Any) -> Any:
        s = open_spec(self.spec, **kw)
        self.stores.append(s)
        return s

    def platform(self, listen_addr: str = "127.0.0.1:0", **kw: Any) -> Any:
        p = platform_spec(self.spec, listen_addr, **kw)
        self.stores.append(p.store)
        return p

    def sql(self, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run ``query`` on a connection of its own and commit (``?`` placeholders on both)."""
        if self.kind == "sqlite":
            db = sqlite3.connect(self.path, timeout=10)
            try:
                with db:
                    return db.execute(query, args).fetchall()
            finally:
                db.close()
        import psycopg
        with psycopg.connect(PG_URL, autocommit=True, options=f"-c search_path={self.schema}") as conn:
            cur = conn.execute(query.replace("?", "%s"), args)
            return cur.fetchall() if cur.description else []

    def close(self) -> None:
        for s in self.stores:
            s.close()
        self.stores.clear()
        if self.kind == "postgres":
            drop_schema(self.schema)
