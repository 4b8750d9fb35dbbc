"""The durable runtime: Engine, scheduler, effect handlers, group commit, the README doors."""
from .client import Client, connect
from .doors import Platform, Workers, new_postgres, new_sqlite, spawn_workers
from .engine import Engine
from .errors import FlowCancelled, FlowFailed, SpawnConflict, idempotency_key
from .httpclient import HttpPolicy
from .info import IsolateInfo
from .ingress import Ingress, ListenError
from .metrics import metrics_text
from .retention import Retention

__all__ = ["Client", "Engine", "FlowCancelled", "FlowFailed", "HttpPolicy", "Ingress", "IsolateInfo", "ListenError",
           "Platform", "Retention", "SpawnConflict", "Workers", "connect", "idempotency_key", "metrics_text",
           "new_postgres", "new_sqlite", "spawn_workers"]
