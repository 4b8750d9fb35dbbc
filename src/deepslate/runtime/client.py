"""The asyncio API: ``deepslate.connect(platform, flows)`` and its ``Client``.

For programs that already run an event loop (FastAPI, aiohttp, any asyncio service). Every
verb is a coroutine and never blocks the caller's loop. Two ways to run the engine:

- on the host's own loop: ``async with deepslate.connect(platform, [flows]) as client`` starts
  the engine on the running loop (a FastAPI lifespan, an aiohttp ``cleanup_ctx``) and stops
  it when the block ends. Steps run on that loop in short slices (the VM's step budget); the
  store is written from the engine's database thread, blocking ``@impure`` calls run in its
  pool.
- bridged: after ``spawn_workers`` started the engine on its own thread,
  ``await deepslate.connect(platform)`` gives a client whose calls run there. The caller awaits
  a wrapped concurrent future, so its loop stays free, and every timeout holds on the caller's
  side even when the engine loop is held by a slow ``@pure`` or is gone (then
  ``RuntimeError``), as with the synchronous doors.

A client is bound to no loop: called from the engine's loop it awaits the engine directly,
from any other loop it bridges.

Rejected: a client that only ever bridges (an engine thread even for async services) -- it
doubles the threads and adds a hop per call for programs that have a loop to offer; and
``loop.run_in_executor(None, sync_door)`` -- one pool thread held per waiting call, so a
hundred concurrent ``wait``s would exhaust the default pool.
"""
from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import logging
from types import TracebackType
from typing import Any, Coroutine, Generator, Iterable, TypeVar

from .doors import SLICE, STOP_TIMEOUT, WAIT_GRACE, EngineThread, Platform, _check_timeout
from .engine import Engine
from .info import IsolateInfo, check_list, list_of, status_of
from .isolate import flow_of

log = logging.getLogger("deepslate.runtime")


_T = TypeVar("_T")

class Client:
    """The asyncio verbs of a running engine: spawn, wait, cancel, send, retry, status, list.

    Made by ``deepslate.connect``. The client that started its engine (on the host's loop) stops
    it on ``close()``; a client bridged to ``spawn_workers``' engine leaves it to that ``stop()``."""

    def __init__(self, platform: Platform, engine: Engine, runner: EngineThread | None, owns: bool):
        self.platform = platform
        self.engine = engine
        self._runner = runner           # the engine's own thread, when spawn_workers started it
        self._owns = owns               # close() stops the engine
        self._closed = False

    def __repr__(self) -> str:
        how = "on its own thread" if self._runner is not None else "on an event loop"
        return f"<deepslate.Client of {self.platform!r}, engine {how}{', closed' if self._closed else ''}>"

    @property
    def ingress_url(self) -> str | None:
        """``http://host:port`` of the HTTP ingress (None when the platform has no listen_addr)."""
        return self.engine.ingress_url

    # -- the verbs -------------------------------------------------------------------

    async def spawn(self, name: str, flow_name: str, args: dict[str, Any] | None = None, *,
                    timeout: float | None = None) -> tuple[int, bool]:
        """Create isolate ``name`` running ``flow_name(**args)``: ``(id, exists)``. The same name with
        the same flow and arguments returns the existing isolate; with another flow or other
        arguments it raises ``SpawnConflict``. A spawn that timed out may still be committed:
        spawning again tells."""
        return await self._call(self.engine.spawn(name, flow_name, args), timeout, cancel=False,
                                on_timeout=f"spawn({name!r}) got no answer from the engine within {timeout} s "
                                           "(its event loop is busy); it may still be committed: spawn again "
                                           "to know")

    async def wait(self, name: str, timeout: float | None = None) -> Any:
        """The flow's value; raises FlowFailed, FlowCancelled, KeyError (no such isolate), or
        TimeoutError after ``timeout`` seconds."""
        t = _check_timeout(timeout)
        bridged = self._bridged()
        return await self._call(self.engine.wait(name, t), None if t is None or not bridged else t + WAIT_GRACE,
                                on_timeout=f"isolate {name!r} did not finish within {timeout} s "
                                           "(the engine did not answer: its event loop is busy)")

    async def cancel(self, name: str, *, timeout: float | None = None) -> bool:
        """Cancel isolate ``name`` and its attached children; False if it had finished."""
        return await self._call(self.engine.cancel(name), timeout, cancel=False,
                                on_timeout=f"cancel({name!r}) got no answer from the engine within {timeout} s "
                                           "(its event loop is busy); it may still take effect")

    async def send(self, name: str, method: str, route: str, body: bytes, *, key: str | None = None,
                   timeout: float | None = None) -> int:
        """Deliver ``body`` to isolate ``name``'s ``http_listen(method, route)`` (what the HTTP
        ingress does): committed before it returns the message id, taken once, in order. With a
        ``key`` (a delivery id) a repeat lands once. ValueError once the isolate's tree has ended."""
        return await self._call(self.engine.send(name, method, route, body, key=key), timeout, cancel=False,
                                on_timeout=f"send({name!r}) got no answer from the engine within {timeout} s "
                                           "(its event loop is busy); it may still be committed: send again "
                                           "with the same key to be sure it lands once")

    async def retry(self, name: str, *, failed_at: float | None = None, timeout: float | None = None) -> bool:
        """Run failed isolate ``name`` again from its last good snapshot; False if it has none.
        ``failed_at``: the ``updated_at`` of the failure the caller saw (``IsolateInfo.updated_at``):
        the retry happens only while the isolate is still failed at that time, so two retries of
        one failure (a double click) retry once."""
        return await self._call(self.engine.retry(name, failed_at=failed_at), timeout, cancel=False,
                                on_timeout=f"retry({name!r}) got no answer from the engine within {timeout} s "
                                           "(its event loop is busy); it may still take effect")

    async def status(self, name: str, *, timeout: float | None = None) -> str:
        """running, sleeping, waiting, done, failed or cancelled; KeyError for an unknown name."""
        return await self._call(status_of(self.engine, name), timeout,
                                on_timeout=f"status({name!r}) got no answer from the engine within {timeout} s "
                                           "(its event loop is busy)")

    async def list(self, *, status: str | None = None, flow: str | None = None, limit: int = 100,
                   offset: int = 0, timeout: float | None = None) -> builtins.list[IsolateInfo]:
        """Isolates as committed, oldest first: ``limit`` of them (at most 1000) from ``offset``,
        filtered by status and flow name. The next page starts at ``offset + limit``."""
        check_list(status, flow, limit, offset)
        return await self._call(list_of(self.engine, status, flow, limit, offset), timeout,
                                on_timeout=f"list() got no answer from the engine within {timeout} s "
                                           "(its event loop is busy)")

    # -- closing ---------------------------------------------------------------------

    async def close(self, timeout: float | None = STOP_TIMEOUT) -> None:
        """A client that started its engine stops it (what is committed stays committed) and
        closes the store; a bridged client only stops taking calls. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if not self._owns:
            return
        t = _check_timeout(timeout)
        eng = self.engine
        self.platform.mark_stopped()
        stopping = asyncio.ensure_future(eng.stop())

        def stopped(f: "asyncio.Future[None]") -> None:
            eng.store.close()           # after Engine.stop, which waits for its database thread
            _consume(f)
        stopping.add_done_callback(stopped)
        try:
            await asyncio.wait_for(asyncio.shield(stopping), t)
        except TimeoutError:
            log.error("the deepslate engine did not stop within %s s (its event loop is busy); it is left to "
                      "finish stopping and close the store on its own", timeout)
            return
        stopping.result()           # an error from the engine's own shutdown

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    # -- calling the engine ----------------------------------------------------------------

    def _bridged(self) -> bool:
        loop = getattr(self.engine, "loop", None)
        return loop is not asyncio.get_running_loop()

    def _why_not(self) -> str | None:
        """None while the engine can take calls; else why not."""
        if self._closed:
            return "this client was closed"
        if self._runner is not None:
            return self._runner.why_not()
        loop = self.engine.loop
        if loop.is_closed():
            return "its event loop is closed"
        if not loop.is_running():
            return "its event loop is not running"
        return None

    async def _call(self, coro: Coroutine[Any, Any, _T], timeout: float | None, *, on_timeout: str,
                    cancel: bool = True) -> _T:
        """Run ``coro`` on the engine's loop for the caller on its own loop. ``cancel=False``: an
        operation that must not stop half-way goes on when the caller gives up (timeout or its
        own cancellation)."""
        try:
            t = _check_timeout(timeout)
            reason = self._why_not()
            if reason is not None:
                raise RuntimeError(f"the deepslate engine is not running: {reason}")
        except BaseException:
            coro.close()
            raise
        if not self._bridged():
            task = asyncio.ensure_future(coro)
            try:
                return await asyncio.wait_for(task if cancel else asyncio.shield(task), t)
            except TimeoutError:
                raise TimeoutError(on_timeout) from None
        loop = asyncio.get_running_loop()
        cfut = asyncio.run_coroutine_threadsafe(coro, self.engine.loop)
        afut = asyncio.wrap_future(cfut)
        afut.add_done_callback(_consume)         # an answer nobody waits for any more is not an error
        deadline = None if t is None else loop.time() + t
        try:
            while not cfut.done():
                left = None if deadline is None else deadline - loop.time()
                if left is not None and left <= 0:
                    if cancel:
                        cfut.cancel()
                    raise TimeoutError(on_timeout)
                await asyncio.wait([afut], timeout=SLICE if left is None else min(SLICE, left))
                if cfut.done():
                    break
                reason = self._why_not()
                if reason is not None:
                    cfut.cancel()
                    raise RuntimeError(f"the deepslate engine is not running: {reason}")
        except asyncio.CancelledError:
            if cancel:
                cfut.cancel()
            raise
        try:
            return cfut.result()
        except concurrent.futures.CancelledError:
            raise RuntimeError("the deepslate engine cancelled the call (it is stopping)") from None


def _consume(f: "asyncio.Future[Any]") -> None:
    if not f.cancelled():
        f.exception()


class _Connecting:
    """``connect``'s result: awaited, it is the client; used with ``async with``, the client is
    closed at the end of the block."""

    def __init__(self, platform: Platform, flows: Iterable[Any] | None, workers: int):
        self._platform, self._flows, self._workers = platform, flows, workers
        self._client: Client | None = None

    def __await__(self) -> Generator[Any, None, Client]:
        return self._open().__await__()

    async def __aenter__(self) -> Client:
        self._client = await self._open()
        return self._client

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._client is not None:
            await self._client.close()

    async def _open(self) -> Client:
        platform = self._platform
        if platform.runner is not None:         # spawn_workers' engine, on its own thread
            return Client(platform, platform.runner.engine, platform.runner, owns=False)
        if platform.stopped:
            raise RuntimeError(f"{platform!r} was stopped: its store is closed. Open the store again "
                               f"with {platform.reopen()} and connect to that platform")
        running = platform.engine
        if running is not None and running.started:     # another client's engine on a loop
            if self._flows is not None:
                raise RuntimeError(f"{platform!r} already runs an engine (started by connect); "
                                   "call connect(platform) without flows to get a client of it")
            return Client(platform, running, None, owns=False)
        if self._flows is None:
            raise ValueError(f"{platform!r} runs no engine yet: give connect the flows to run, "
                             "connect(platform, [my_flow]), or start workers with spawn_workers first")
        engine = Engine(platform.store, self._flows, self._workers, node_id=platform.node_id,
                        commit_batch=platform.commit_batch, lease_seconds=platform.lease_seconds,
                        listen_addr=platform.listen_addr, ingress=platform.ingress,
                        http_policy=platform.http_policy, retention=platform.retention)
        await engine.start()
        platform.engine = engine
        return Client(platform, engine, None, owns=True)


def connect(platform: Platform, flows: Iterable[Any] | None = None, *, workers: int = 4) -> _Connecting:
    """The asyncio client of ``platform``'s engine.

    ``async with connect(platform, [order]) as client:`` starts the engine on the running loop
    with ``workers`` workers and stops it when the block ends (``client = await connect(...)``
    then ``await client.close()`` does the same). ``await connect(platform)`` (no flows) is a
    client of the engine already running: the one ``spawn_workers`` started on its own thread,
    or one another ``connect`` started."""
    if not isinstance(platform, Platform):
        raise TypeError(f"connect needs the platform from new_sqlite or new_postgres, not {type(platform).__name__}")
    if flows is not None:
        if platform.runner is not None:
            raise RuntimeError(f"{platform!r} already has workers from spawn_workers; call connect(platform) "
                               "without flows to get a client of them")
        flows = [flow_of(f) for f in flows]
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int of at least 1, not {workers!r}")
    return _Connecting(platform, flows, workers)
