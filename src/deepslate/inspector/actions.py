"""What the inspector's POST routes ask of an engine: cancel, retry, send.

``EngineActions`` calls the engine running in this process, on the engine's own event loop
(its thread from ``spawn_workers``, or the host's loop under ``deepslate.connect``), from the
inspector's loop, without blocking either. ``StoreRequestActions`` is for an inspector with no
engine in its process (``deepslate inspector STORE``).

Errors, which the API turns into statuses: ``KeyError`` no such isolate (404), ``ValueError``
the verb does not apply any more (409), ``RuntimeError`` no engine runs (503),
``NotImplementedError`` actions are not available here (503), ``TimeoutError`` the engine did
not answer in time (504; the action may still take effect).
"""
from __future__ import annotations

import abc
import asyncio
import inspect
from typing import TYPE_CHECKING, Any, Callable, Coroutine, TypeVar

if TYPE_CHECKING:
    from ..runtime.doors import Platform
    from ..runtime.engine import Engine

T = TypeVar("T")

ACTION_TIMEOUT = 10.0     # seconds an action waits for the engine's answer


class Actions(abc.ABC):
    """The engine verbs the inspector offers."""

    @abc.abstractmethod
    async def cancel(self, name: str) -> bool:
        """Cancel isolate ``name``; False if it had already ended."""

    @abc.abstractmethod
    async def retry(self, name: str, failed_at: float | None = None) -> bool:
        """Retry failed isolate ``name`` from its last good snapshot; with ``failed_at`` (the
        ``updated_at`` of the failure the caller saw) only if it is still that failure. False if
        it does not apply (not failed, another retry got there first)."""

    @abc.abstractmethod
    async def send(self, name: str, method: str, route: str, body: bytes) -> int:
        """Deliver ``body`` to the isolate's ``http_listen(method, route)``: the message id once
        committed."""


class EngineActions(Actions):
    """The verbs of the engine running on ``platform`` in this process."""

    def __init__(self, platform: "Platform", timeout: float = ACTION_TIMEOUT):
        self.platform = platform
        self.timeout = timeout

    def _engine(self) -> "Engine":
        eng = self.platform.engine
        if eng is None:
            raise RuntimeError("no engine runs on this platform (spawn_workers has not started one)")
        if not eng.started:
            raise RuntimeError("the engine is not running (it was stopped)")
        if eng.failure is not None:
            raise RuntimeError(f"the engine stopped after a failure: {type(eng.failure).__name__}: {eng.failure}")
        runner = self.platform.runner
        why = runner.why_not() if runner is not None else (
            None if eng.loop.is_running() and not eng.loop.is_closed() else "its event loop is not running")
        if why is not None:
            raise RuntimeError(f"the engine is not running: {why}")
        return eng

    async def _run(self, make: Callable[["Engine"], Coroutine[Any, Any, T]], doing: str) -> T:
        eng = self._engine()
        fut = asyncio.run_coroutine_threadsafe(make(eng), eng.loop)
        try:
            # shielded: an action the caller stops waiting for is not stopped half-way
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(fut)), self.timeout)
        except TimeoutError:
            raise TimeoutError(f"{doing}: the engine did not answer within {self.timeout} s (its event loop "
                               "is busy); it may still take effect") from None

    async def cancel(self, name: str) -> bool:
        return await self._run(lambda eng: eng.cancel(name), f"cancel {name!r}")

    async def retry(self, name: str, failed_at: float | None = None) -> bool:
        def make(eng: "Engine") -> Coroutine[Any, Any, bool]:
            # an engine whose retry takes failed_at checks it in the same write that adopts the
            # isolate; with an older one the API's own check (a read just before) stands alone
            if failed_at is not None and "failed_at" in inspect.signature(eng.retry).parameters:
                retry: Callable[..., Coroutine[Any, Any, bool]] = eng.retry
                return retry(name, failed_at=failed_at)
            return eng.retry(name)
        return await self._run(make, f"retry {name!r}")

    async def send(self, name: str, method: str, route: str, body: bytes) -> int:
        # Engine.send raises ValueError once the isolate's tree has ended: the 409 of the contract
        return await self._run(lambda eng: eng.send(name, method, route, body), f"send to {name!r}")


class StoreRequestActions(Actions):
    """Actions of a standalone inspector: each verb is filed in the store's ``requests`` table
    and applied by whichever engine holds the store (``deepslate.runtime.requests``). With no
    live engine the request stays filed and the API answers 503 saying so; an engine that
    opens the store later applies it."""

    def __init__(self, store_path: str, timeout: float = ACTION_TIMEOUT):
        self.store_path = store_path
        self.timeout = timeout

    async def _file(self, verb: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(self._file_and_wait, verb, name, args)

    def _file_and_wait(self, verb: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        from ..runtime import requests
        rid = requests.submit(self.store_path, verb, name, args)
        if requests.lease_holder(self.store_path) is None:
            raise RuntimeError(f"{verb} {name!r} is filed as request #{rid}, but no engine holds this store now: "
                               "it takes effect when one opens it")
        outcome = requests.wait_outcome(self.store_path, rid, self.timeout)
        if outcome is None:
            raise TimeoutError(f"{verb} {name!r} (request #{rid}): the engine holding the store did not answer "
                               f"within {self.timeout} s; it may still take effect")
        return outcome

    async def cancel(self, name: str) -> bool:
        return bool((await self._file("cancel", name, {}))["ok"])

    async def retry(self, name: str, failed_at: float | None = None) -> bool:
        return bool((await self._file("retry", name, {} if failed_at is None else {"failed_at": failed_at}))["ok"])

    async def send(self, name: str, method: str, route: str, body: bytes) -> int:
        outcome = await self._file("send", name, {"method": method, "route": route, "body": body})
        if not outcome["ok"]:
            raise ValueError(str(outcome.get("message")))
        return int(outcome["message_id"])
