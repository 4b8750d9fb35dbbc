"""What ``wait`` raises, and the idempotency key of the running @impure call."""
from __future__ import annotations

import contextvars
import json
from typing import Any

from ..program.model import format_backtrace

_KEY: contextvars.ContextVar[str] = contextvars.ContextVar("deepslate_idempotency_key")


def idempotency_key() -> str:
    """A key that is the same on every run of the current @impure call (after a crash too).

    Pass it to a payment provider or any API that deduplicates requests, and the call
    takes effect once however often deepslate has to run it."""
    try:
        return _KEY.get()
    except LookupError:
        raise RuntimeError("idempotency_key() is only available inside an @impure function "
                           "called by a running flow; to call one directly in a test, do it inside "
                           "`with deepslate.testing.idempotency_key_for(\"some-key\"):`") from None


class FlowFailed(Exception):
    """The isolate failed: a runtime fault in the flow, or an @impure function that kept raising."""

    def __init__(self, name: str, message: str, frames: list[tuple[str, str, int, int]] | None = None,
                 kind: str = "fault", exc_type: str = ""):
        self.name = name
        self.message = message
        self.exc_type = exc_type          # the Python exception class name, when there was one
        self.frames = [tuple(f) for f in frames or ()]
        self.kind = kind
        super().__init__(f"isolate {name!r} failed: {message}"
                         + (f" (at {self.where})" if self.frames else ""))

    @property
    def where(self) -> str:
        """``file:line`` of the innermost flow frame."""
        fn, filename, line, col = self.frames[-1]
        return f"{filename}:{line}"

    def backtrace(self) -> str:
        return format_backtrace(self.frames, self.message)

    @classmethod
    def from_stored(cls, name: str, error: str | None) -> "FlowFailed":
        try:
            d = json.loads(error or "{}")
            return cls(name, d.get("message", "unknown error"), d.get("frames"), d.get("kind", "fault"),
                       d.get("exc_type", ""))
        except (ValueError, AttributeError):
            return cls(name, str(error))


class FlowCancelled(Exception):
    """The isolate was cancelled before it finished."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(f"isolate {name!r} was cancelled")


def error_json(message: str, frames: list[Any] | None = None, kind: str = "fault", exc_type: str = "",
               held: list[int] | None = None) -> str:
    """A failed isolate's error column; ``held``: the locks its kept snapshot holds, which a
    retry takes back before it resumes."""
    d: dict[str, Any] = {"message": message, "frames": [list(f) for f in frames or ()], "kind": kind,
                         "exc_type": exc_type}
    if held:
        d["held"] = held
    return json.dumps(d)


class SpawnConflict(ValueError):
    """``spawn`` of a name that already exists, with another flow or other arguments. Spawn is
    idempotent only for the same name, flow and arguments."""

    def __init__(self, name: str, existing_flow: str, flow: str, args: dict[str, Any], same_flow: bool):
        self.name = name
        self.existing_flow = existing_flow
        self.flow = flow
        shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
        if len(shown) > 200:
            shown = shown[:200] + "..."
        what = (f"with other arguments than {flow}({shown})" if same_flow
                else f"with flow {existing_flow!r}, not {flow!r}")
        super().__init__(f"isolate {name!r} already exists {what}; spawn is idempotent only for the same "
                         "flow and arguments: choose another name")
