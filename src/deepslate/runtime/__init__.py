"""The durable runtime: Engine, scheduler, effect handlers, group commit, the README doors."""
from .doors import Platform, new_sqlite, spawn_workers
from .engine import Engine
from .errors import FlowCancelled, FlowFailed, SpawnConflict, idempotency_key
from .httpclient import HttpPolicy
from .ingress import Ingress, ListenError

__all__ = ["Engine", "FlowCancelled", "FlowFailed", "HttpPolicy", "Ingress", "ListenError", "Platform",
           "idempotency_key", "new_sqlite", "spawn_workers"]
