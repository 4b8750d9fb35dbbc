"""Stores: the ``Store`` interface, its SQLite implementation, and the PostgreSQL one
(``PostgresStore``, imported on first use: it needs the ``postgres`` extra)."""
from typing import Any

from .base import (TERMINAL, Commit, DriverMissing, IsolateRow, LeaseLost, NotADeepslateStore, SharedState, Store,
                   StoreError, StoreFull, StoreReadOnly, StoreUnavailable)
from .sqlite import SQLiteStore

__all__ = ["TERMINAL", "Commit", "DriverMissing", "IsolateRow", "LeaseLost", "NotADeepslateStore", "PostgresStore",
           "SharedState", "Store", "StoreError", "StoreFull", "StoreReadOnly", "StoreUnavailable", "SQLiteStore"]


def __getattr__(name: str) -> Any:
    # psycopg is imported only when the PostgreSQL store is asked for
    if name == "PostgresStore":
        from .postgres import PostgresStore
        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
