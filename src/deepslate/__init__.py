"""deepslate: durable execution for Python."""
from . import dpslio
from ._builtins import http_listen, http_request, json_marshal, json_unmarshal, sleep
from ._values import DSError
from .compiler import CompileError, Flow, flow, impure, pure

__all__ = [
    # the flow language
    "flow", "pure", "impure", "sleep", "http_listen", "http_request", "json_marshal",
    "json_unmarshal", "DSError", "dpslio", "CompileError", "Flow",
]

# The runtime's public names (new_sqlite, spawn_workers, idempotency_key, ...) are
# added below by the runtime.
from .runtime import Engine, FlowCancelled, FlowFailed, idempotency_key, new_sqlite, spawn_workers  # noqa: E402

__all__ += ["new_sqlite", "spawn_workers", "Engine", "idempotency_key", "FlowFailed", "FlowCancelled"]
