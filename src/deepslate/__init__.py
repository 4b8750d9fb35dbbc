"""deepslate: durable execution for Python.

Flows (``@flow async def``) are compiled to deepslate's own bytecode and run on its
own interpreter; after every durable operation the interpreter's state is
committed to the store, and after a crash the flow resumes from that snapshot.
"""
from . import dpslio
from ._builtins import http_listen, http_request, json_marshal, json_unmarshal, now, random, sleep, uuid4
from ._snapshot import SnapshotError
from ._values import DSError
from .compiler import CompileError, Flow, flow, impure, pure
from .program import dis
from . import webhooks
from .inspector import Inspector, spawn_inspector
from .runtime import Client, Engine, FlowCancelled, FlowFailed, HttpPolicy, Ingress, IsolateInfo, Retention, \
    SpawnConflict, connect, idempotency_key, metrics_text, new_postgres, new_sqlite, spawn_workers

__all__ = [
    # the flow language
    "flow", "pure", "impure", "sleep", "http_listen", "http_request", "json_marshal",
    "json_unmarshal", "now", "random", "uuid4", "DSError", "dpslio", "Flow",
    # running flows
    "new_sqlite", "new_postgres", "spawn_workers", "Engine", "idempotency_key", "Ingress", "webhooks", "HttpPolicy",
    # the asyncio API (the primary one for programs that run an event loop)
    "connect", "Client", "IsolateInfo",
    # operations
    "spawn_inspector", "Inspector", "Retention", "metrics_text",
    # errors and tools
    "CompileError", "FlowFailed", "FlowCancelled", "SpawnConflict", "SnapshotError", "dis",
]
