"""Stores: the ``Store`` interface, its SQLite implementation, and the PostgreSQL one
(``PostgresStore``, imported on first use: it needs the ``postgres`` extra)."""
import os
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .base import (TERMINAL, Commit, DriverMissing, IsolateRow, LeaseLost, NotADeepslateStore, SharedState, Store,
                   StoreError, StoreFull, StoreReadOnly, StoreUnavailable)
from .sqlite import SQLiteStore

__all__ = ["TERMINAL", "Commit", "DriverMissing", "IsolateRow", "LeaseLost", "NotADeepslateStore", "PostgresStore",
           "SharedState", "Store", "StoreError", "StoreFull", "StoreReadOnly", "StoreUnavailable", "SQLiteStore",
           "open_store"]

PG_SCHEMES = ("postgres://", "postgresql://")


def open_store(target: str, *, readonly: bool = False) -> Store:
    """The store a command names: a PostgreSQL URL (``postgres://`` or ``postgresql://``; a
    ``schema=NAME`` query parameter picks the schema, default ``deepslate``) or the path of an
    existing SQLite file. ``readonly`` opens an SQLite file for reading only. Neither kind is
    created here (a typo in a command must not make a store), and neither kind claims the
    store's lease, so an engine running on it goes on undisturbed."""
    if target.startswith(PG_SCHEMES):
        parts = urlsplit(target)
        query = parse_qsl(parts.query, keep_blank_values=True)
        schema = next((v for k, v in query if k == "schema"), "deepslate")
        url = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k != "schema"])))
        from .postgres import PostgresStore
        return PostgresStore(url, schema=schema, pool_size=2, create=False)
    if not os.path.exists(target):
        raise StoreError(f"no store at {target!r}")
    return SQLiteStore(target, readonly=readonly)


def __getattr__(name: str) -> Any:
    # psycopg is imported only when the PostgreSQL store is asked for
    if name == "PostgresStore":
        from .postgres import PostgresStore
        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
