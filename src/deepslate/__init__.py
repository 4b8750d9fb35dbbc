"""deepslate: durable execution for Python.

Flows (``@flow async def``) are compiled to deepslate's own bytecode and run on its
own interpreter; after every durable operation the interpreter's state is
committed to the store, and after a crash the flow resumes from that snapshot.
"""
from . import dpslio
from ._builtins import http_listen, http_request, json_marshal, json_unmarshal, sleep
from ._snapshot import SnapshotError
from ._values import DSError
from .compiler import CompileError, Flow, dis, flow, impure, pure
from .runtime import Engine, FlowCancelled, FlowFailed, HttpPolicy, idempotency_key, new_sqlite, spawn_workers

__all__ = [
    # the flow language
    "flow", "pure", "impure", "sleep", "http_listen", "http_request", "json_marshal",
    "json_unmarshal", "DSError", "dpslio", "Flow",
    # running flows
    "new_sqlite", "spawn_workers", "Engine", "HttpPolicy", "idempotency_key",
    # errors and tools
    "CompileError", "FlowFailed", "FlowCancelled", "SnapshotError", "dis",
]
