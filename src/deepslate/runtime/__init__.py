"""The durable runtime: Engine, scheduler, effect handlers, group commit, the README doors."""
from .client import Client, connect
from .doors import Platform, Workers, new_postgres, new_sqlite, spawn_workers
from .engine import Engine
from .errors import FlowCancelled, FlowFailed, SpawnConflict, idempotency_key
from .httpclient import HttpPolicy
from .info import IsolateInfo
from .ingress import Ingress, ListenError

__all__ = ["Client", "Engine", "FlowCancelled", "FlowFailed", "HttpPolicy", "Ingress", "IsolateInfo", "ListenError",
           "Platform", "SpawnConflict", "Workers", "connect", "idempotency_key", "new_postgres", "new_sqlite",
           "spawn_workers"]
