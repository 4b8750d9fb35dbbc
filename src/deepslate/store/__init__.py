"""Stores: the ``Store`` interface and its SQLite implementation (PostgreSQL comes later)."""
from .base import (TERMINAL, Commit, IsolateRow, LeaseLost, NotADeepslateStore, SharedState, Store, StoreError,
                   StoreFull, StoreReadOnly)
from .sqlite import SQLiteStore

__all__ = ["TERMINAL", "Commit", "IsolateRow", "LeaseLost", "NotADeepslateStore", "SharedState", "Store",
           "StoreError", "StoreFull", "StoreReadOnly", "SQLiteStore"]
