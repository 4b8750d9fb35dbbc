"""The README's doors: ``new_sqlite``, ``new_postgres`` and ``spawn_workers``.

They run an ``Engine`` on its own event loop in its own thread, so plain
synchronous code (a FastAPI handler, a script) can call ``spawn``/``wait``/
``cancel``/``stop`` from any thread while isolates keep running.

Every door keeps its caller's deadline on the caller's side: a loop held by a slow
``@pure`` or a dead engine thread never makes a door hang past its timeout, and with
no timeout a door still notices (within a fraction of a second) that the engine is gone.
"""
from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import logging
import math
import threading
import time
from typing import Any, Callable, Coroutine, Iterable, TypeVar

from ..store.base import DriverMissing, Store
from ..store.sqlite import SQLiteStore
from .engine import Engine
from .httpclient import HttpPolicy
from .info import IsolateInfo, check_list, list_of, status_of
from .ingress import Ingress, split_addr
from .retention import Retention

log = logging.getLogger("deepslate.runtime")
T = TypeVar("T")

SLICE = 0.25          # how often a waiting door looks whether the engine thread still runs
WAIT_GRACE = 0.2      # wait(timeout=t) gives the engine t + this to answer before giving up itself
STOP_TIMEOUT = 10.0   # the longest stop() waits for the engine to shut down by default


class Platform:
    """An opened store plus the node's settings; what ``spawn_workers`` runs on."""

    def __init__(self, store: Store, listen_addr: str, *, node_id: str = "local", commit_batch: int = 1000,
                 lease_seconds: float = 30.0, ingress: Ingress | None = None,
                 http_policy: HttpPolicy | None = None, retention: Retention | None = None):
        if http_policy is not None and not isinstance(http_policy, HttpPolicy):
            raise TypeError(f"http_policy must be a deepslate.HttpPolicy, not {type(http_policy).__name__}")
        if retention is not None and not isinstance(retention, Retention):
            raise TypeError(f"retention must be a deepslate.Retention, not {type(retention).__name__}")
        self.store = store
        self.listen_addr = listen_addr      # the HTTP ingress's address; port 0: any free port
        self.ingress = ingress
        self.node_id = node_id
        self.commit_batch = commit_batch
        self.lease_seconds = lease_seconds
        self.http_policy = http_policy          # None: HttpPolicy()'s defaults
        self.retention = retention              # None: finished isolates are kept for ever
        self.engine: Engine | None = None
        self.runner: "EngineThread | None" = None
        self.stopped = False        # set by the doors' stop(): the store is (being) closed
        self._on_stop: list[Callable[[], None]] = []

    def on_stop(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` when the platform stops (an inspector serving it stops with it)."""
        self._on_stop.append(fn)

    def mark_stopped(self) -> None:
        """The platform's engine was stopped and its store closed: run the ``on_stop`` callbacks,
        once each; one that raises is logged and the others still run."""
        self.stopped = True
        hooks, self._on_stop = self._on_stop, []
        for fn in hooks:
            try:
                fn()
            except Exception as e:
                log.error("stopping %r: %r raised %s: %s", self, fn, type(e).__name__, e)

    def __repr__(self) -> str:
        return f"Platform({self.store.path!r})"

    def reopen(self) -> str:
        """How to open this platform's store again, for messages."""
        if type(self.store).__name__ == "PostgresStore":
            return f"new_postgres({self.node_id!r}, {self.store.path!r}, ...)"
        return f"new_sqlite({self.store.path!r})"


def _check_addr(listen_addr: str) -> None:
    split_addr(listen_addr)


def _check_timeout(timeout: Any) -> float | None:
    """None (no limit) or a number of seconds; a negative one counts as 0, as in asyncio."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
    t = float(timeout)
    if math.isnan(t):
        raise ValueError("timeout must be a number of seconds or None, not NaN")
    if math.isinf(t):
        return None
    return max(t, 0.0)


def new_sqlite(path: str, listen_addr: str = "127.0.0.1:8765", *, commit_batch: int = 1000,
               synchronous: str = "FULL", log_keep: int = 200, max_page_count: int | None = None,
               ingress: Ingress | None = None, http_policy: HttpPolicy | None = None,
               retention: Retention | None = None) -> tuple[Platform, None]:
    """Open (or create) the SQLite store at ``path``.

    ``spawn_workers`` serves the HTTP ingress on ``listen_addr`` (``host:0`` picks a free port:
    read ``platform.engine.ingress_url``); ``ingress`` sets its body limit and request checks.

    Raises ``deepslate.store.StoreError`` naming the file when it cannot be used: a missing
    directory, a file that is not a deepslate database, a read-only file. The second element
    is always None; it keeps the README's ``platform, _ = ...`` shape. ``http_policy`` sets
    how the flows' ``http_request`` calls time out and retry (``deepslate.HttpPolicy``);
    ``retention`` how long finished isolates are kept (``deepslate.Retention``; by default
    for ever)."""
    _check_addr(listen_addr)
    if ingress is not None and not isinstance(ingress, Ingress):
        raise TypeError(f"ingress must be a deepslate.Ingress, not {type(ingress).__name__}")
    if commit_batch < 1:
        raise ValueError(f"commit_batch must be at least 1, not {commit_batch}")
    if http_policy is not None and not isinstance(http_policy, HttpPolicy):
        raise TypeError(f"http_policy must be a deepslate.HttpPolicy, not {type(http_policy).__name__}")
    if retention is not None and not isinstance(retention, Retention):
        raise TypeError(f"retention must be a deepslate.Retention, not {type(retention).__name__}")
    store = SQLiteStore(path, synchronous=synchronous, log_keep=log_keep, max_page_count=max_page_count)
    return Platform(store, listen_addr, commit_batch=commit_batch, ingress=ingress, http_policy=http_policy,
                    retention=retention), None


def new_postgres(node_id: int | str, dburl: str, listen_addr: str = "127.0.0.1:8765", pool_size: int = 10,
                 commit_batch: int = 1000, lease_seconds: float = 30.0, *, schema: str = "deepslate",
                 ingress: Ingress | None = None, http_policy: HttpPolicy | None = None,
                 retention: Retention | None = None) -> tuple[Platform, None]:
    """Open (or create) the store in PostgreSQL database ``dburl`` (``postgres://`` or
    ``postgresql://user:password@host:port/database?sslmode=disable``), for node ``node_id``.

    ``pool_size`` is the most connections this node opens (opened as needed, so the README's 100
    works against a server whose ``max_connections`` is 100); ``commit_batch`` the most steps
    per group-commit transaction; ``lease_seconds`` the node's ownership lease. The tables live
    in ``schema`` (created when missing), so one database can hold several stores beside the
    application's own tables. ``listen_addr``, ``ingress``, ``http_policy`` and ``retention`` are
    as for ``new_sqlite``.

    Raises ``deepslate.store.StoreUnavailable`` naming the URL without its password when the
    server is down, refuses the credentials or has no such database, ``DriverMissing`` when
    psycopg is not installed (``pip install 'deepslate[postgres]'``), and ValueError for a
    malformed URL or setting. The second element is always None (the README's shape)."""
    if isinstance(node_id, bool) or not isinstance(node_id, (int, str)) or str(node_id).strip() == "":
        raise TypeError(f"node_id must be an int or a non-empty str, not {node_id!r}")
    _check_addr(listen_addr)
    if ingress is not None and not isinstance(ingress, Ingress):
        raise TypeError(f"ingress must be a deepslate.Ingress, not {type(ingress).__name__}")
    if isinstance(commit_batch, bool) or not isinstance(commit_batch, int) or commit_batch < 1:
        raise ValueError(f"commit_batch must be an int of at least 1, not {commit_batch!r}")
    if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, (int, float)) or not lease_seconds > 0:
        raise ValueError(f"lease_seconds must be a positive number of seconds, not {lease_seconds!r}")
    if http_policy is not None and not isinstance(http_policy, HttpPolicy):
        raise TypeError(f"http_policy must be a deepslate.HttpPolicy, not {type(http_policy).__name__}")
    if retention is not None and not isinstance(retention, Retention):
        raise TypeError(f"retention must be a deepslate.Retention, not {type(retention).__name__}")
    store = open_postgres(dburl, schema=schema, pool_size=pool_size, lease_seconds=lease_seconds)
    return Platform(store, listen_addr, node_id=str(node_id), commit_batch=commit_batch,
                    lease_seconds=float(lease_seconds), ingress=ingress, http_policy=http_policy,
                    retention=retention), None


def open_postgres(dburl: str, **kw: Any) -> Store:
    """``PostgresStore(dburl, **kw)``; psycopg is imported only now, so that deepslate without the
    postgres extra imports and runs on SQLite."""
    try:
        from ..store.postgres import PostgresStore
    except ImportError as e:
        raise DriverMissing(f"the PostgreSQL store needs psycopg with psycopg-pool: pip install 'deepslate[postgres]' "
                            f"({type(e).__name__}: {e})") from None
    return PostgresStore(dburl, **kw)


class EngineThread:
    """An engine running on a private event loop in a daemon thread."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name="deepslate-engine", daemon=True)
        self._stopped = False               # stop() was called: no new calls
        self._exited = False                # the loop's run_forever returned
        self._death: BaseException | None = None   # what ended the loop, when something raised
        self._stop_lock = threading.Lock()
        self.thread.start()
        try:
            self.call(engine.start())
        except BaseException:
            self._stopped = True
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            _shut_executors(engine, wait=False)
            raise

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        except BaseException as e:          # e.g. a KeyboardInterrupt/SystemExit raised on the loop
            self._death = e
            log.error("the deepslate engine loop died: %s: %s", type(e).__name__, e)
        try:
            if self._stopped and self._death is None:       # ended by stop(): tidy up here
                _finish_loop(self.loop)
                self.loop.close()
        except BaseException as e:          # pragma: no cover - reported, the thread ends anyway
            log.error("closing the deepslate engine loop: %s: %s", type(e).__name__, e)
        finally:
            self._exited = True

    # -- liveness ------------------------------------------------------------------

    def _reason(self) -> str:
        """Why the engine cannot answer, as far as it is known."""
        bits = []
        if self._stopped:
            bits.append("it was stopped (stop() was called)")
        if self._death is not None:
            bits.append(f"its event loop died of {type(self._death).__name__}: {self._death}")
        elif not self._stopped:
            bits.append("its event loop was stopped")
        failure = self.engine.failure
        if failure is not None:
            bits.append(f"the engine had stopped after a failure: {type(failure).__name__}: {failure}")
        return "; ".join(bits)

    def gone(self) -> str | None:
        """None while the engine loop runs; else why it does not."""
        if self.thread.is_alive() and not self._exited and not self.loop.is_closed():
            return None
        return self._reason()

    def why_not(self) -> str | None:
        """None while calls may be made; else why not (stopped, or its loop ended)."""
        if self._stopped:
            return self._reason()
        return self.gone()

    def _not_running(self, reason: str) -> RuntimeError:
        return RuntimeError(f"the deepslate engine is not running: {reason}")

    # -- calls -------------------------------------------------------------------

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None, *, on_timeout: str | None = None,
             cancel: bool = True) -> T:
        """Run ``coro`` on the engine loop and return its result.

        With a ``timeout`` the caller gets a ``TimeoutError`` once it passes, even when the loop
        is held. The coroutine is then cancelled (as soon as the loop gets to it), or, with
        ``cancel=False`` (an operation that must not stop half-way), left to run to its end
        unheard. Without a timeout the call still raises ``RuntimeError`` when the engine
        thread ends under it."""
        try:
            timeout = _check_timeout(timeout)
        except (TypeError, ValueError):
            coro.close()
            raise
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("deepslate's synchronous doors cannot be called from inside a flow's "
                               "@impure function running on the engine loop; use the Engine methods")
        reason = self.why_not()
        if reason is not None:
            coro.close()
            raise self._not_running(reason)
        deadline = None if timeout is None else time.monotonic() + timeout
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            while True:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    if fut.done():
                        break
                    if cancel:
                        fut.cancel()
                    raise TimeoutError(on_timeout or f"the deepslate engine did not answer within {timeout} s "
                                                      "(its event loop is busy)")
                concurrent.futures.wait([fut], SLICE if left is None else min(SLICE, left))
                if fut.done():
                    break
                reason = self.gone()
                if reason is not None:
                    fut.cancel()
                    raise self._not_running(reason)
        except BaseException:
            if cancel:            # a KeyboardInterrupt in the caller too: nothing left running for it
                fut.cancel()
            raise
        return fut.result()

    def stop(self, timeout: float | None = STOP_TIMEOUT) -> None:
        """Shut the engine down; what is committed stays committed. Bounded by ``timeout``: an
        engine that does not stop in time (its loop held) is left to finish on its own, logged,
        and counts as stopped: its store is closed once it has."""
        timeout = _check_timeout(timeout)
        if threading.current_thread() is self.thread:
            raise RuntimeError("deepslate's stop() cannot be called from the engine loop's own thread")
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        if self.gone() is not None:
            self._abandon(left())
            return
        fut = asyncio.run_coroutine_threadsafe(self.engine.stop(), self.loop)
        fut.add_done_callback(self._stopped_engine)
        while not fut.done():
            rest = left()
            if rest is not None and rest <= 0:
                log.error("the deepslate engine did not stop within %s s (its event loop is busy); "
                          "it is left to finish stopping and close the store on its own", timeout)
                return
            concurrent.futures.wait([fut], SLICE if rest is None else min(SLICE, rest))
            if not fut.done() and self.gone() is not None:
                log.error("the deepslate engine thread ended during stop(): %s", self._reason())
                self._abandon(left())
                return
        rest = left()
        self.thread.join(STOP_TIMEOUT if rest is None else rest)     # it closes its loop, then ends
        if self.thread.is_alive():
            log.error("the deepslate engine thread did not end within %s s of stop()", timeout)
        fut.result()              # an error from the engine's own shutdown

    def _stopped_engine(self, fut: "concurrent.futures.Future[None]") -> None:
        """After Engine.stop (in time or late): close the store, then let the loop end."""
        try:
            self.engine.store.close()
        finally:
            if not self.loop.is_closed():
                self.loop.call_soon_threadsafe(self.loop.stop)

    def _abandon(self, budget: float | None) -> None:
        """stop() of an engine whose loop ended under it. Engine.stop is run on that loop once
        more, from a helper thread and for at most ``budget`` seconds, so that its tasks end,
        commits already submitted are written, and the store is closed."""
        budget = STOP_TIMEOUT if budget is None else budget
        deadline = time.monotonic() + budget
        self.thread.join(budget)
        if self.thread.is_alive() or self.loop.is_closed():
            if self.thread.is_alive():
                log.error("the deepslate engine thread did not end within %s s of stop()", budget)
            return
        eng = self.engine

        def finish() -> None:
            try:
                self.loop.run_until_complete(eng.stop())
                _finish_loop(self.loop)
            except BaseException as e:
                log.error("stopping the deepslate engine after its loop ended: %s: %s", type(e).__name__, e)
            finally:
                blocking = getattr(eng, "blocking", None)     # made by Engine.start
                if blocking is not None:
                    blocking.close()
                _shut_executors(eng, wait=True)
                eng.store.close()
                if not self.loop.is_running():
                    self.loop.close()
        helper = threading.Thread(target=finish, name="deepslate-engine-stop", daemon=True)
        helper.start()
        helper.join(max(0.0, deadline - time.monotonic()))
        if helper.is_alive():
            log.error("the deepslate engine did not finish stopping within %s s; it goes on in the "
                      "background and closes the store when done", budget)


def _shut_executors(engine: Engine, *, wait: bool) -> None:
    """Shut the engine's thread pools (its db thread is waited for when ``wait``)."""
    for name in ("pool", "db"):
        ex = getattr(engine, name, None)
        if isinstance(ex, concurrent.futures.Executor):
            ex.shutdown(wait=wait and name == "db", cancel_futures=True)


def _finish_loop(loop: asyncio.AbstractEventLoop, budget: float = 2.0) -> None:
    """Cancel the tasks left on a stopped loop and let them end (for at most ``budget`` s),
    so that none is destroyed while pending."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in tasks:
        t.cancel()
    if tasks:
        loop.run_until_complete(asyncio.wait(tasks, timeout=budget))
    loop.run_until_complete(loop.shutdown_asyncgens())


SpawnDoor = Callable[..., tuple[int, bool]]
WaitDoor = Callable[..., Any]
CancelDoor = Callable[..., bool]
StopDoor = Callable[..., None]


class Workers(tuple[SpawnDoor, WaitDoor, CancelDoor, StopDoor]):
    """What ``spawn_workers`` returns. It unpacks as the README's ``(spawn, wait, cancel, stop)``;
    every door is an attribute too, with the verbs beyond those four::

        workers = spawn_workers(4, platform, [approval])
        spawn, wait, cancel, stop = workers
        workers.send("expense-1", "POST", "/approve", b'{"by": "ann"}')
        workers.status("expense-1"), workers.list(status="waiting"), workers.retry("expense-1")
    """
    send: Callable[..., int]
    retry: Callable[..., bool]
    status: Callable[..., str]
    list: Callable[..., "builtins.list[IsolateInfo]"]

    def __new__(cls, spawn: SpawnDoor, wait: WaitDoor, cancel: CancelDoor, stop: StopDoor, *,
                send: Callable[..., int], retry: Callable[..., bool], status: Callable[..., str],
                list: Callable[..., "builtins.list[IsolateInfo]"]) -> "Workers":
        self = super().__new__(cls, (spawn, wait, cancel, stop))
        self.send, self.retry, self.status, self.list = send, retry, status, list
        return self

    @property
    def spawn(self) -> SpawnDoor:
        return self[0]

    @property
    def wait(self) -> WaitDoor:
        return self[1]

    @property
    def cancel(self) -> CancelDoor:
        return self[2]

    @property
    def stop(self) -> StopDoor:
        return self[3]

    def __repr__(self) -> str:
        return "Workers(spawn, wait, cancel, stop; send, retry, status, list)"


def spawn_workers(n: int, platform: Platform, flows: Iterable[Any]) -> Workers:
    """Start the engine with ``n`` workers; returns ``(spawn, wait, cancel, stop)`` (a ``Workers``,
    which also has ``send``, ``retry``, ``status`` and ``list``).

    spawn(name, flow_name, args, *, timeout=None) -> (id, exists) is idempotent by name (the
    same name with another flow or other arguments raises ``SpawnConflict``);
    wait(name, timeout=None) returns the flow's value or raises FlowFailed / FlowCancelled /
    TimeoutError; cancel(name, *, timeout=None); stop(timeout=10.0) shuts down, keeping
    everything committed. All are thread-safe, and each keeps its timeout on the caller's
    side even when the engine loop is held or the engine is gone (then ``RuntimeError``)."""
    if not isinstance(platform, Platform):
        raise TypeError(f"spawn_workers needs the platform from new_sqlite or new_postgres, not {type(platform).__name__}")
    if platform.runner is not None:
        raise RuntimeError(f"{platform!r} already has workers; call stop() first")
    if platform.stopped:
        raise RuntimeError(f"{platform!r} was stopped: stop() closed its store. Open the store again "
                           f"with {platform.reopen()} and pass that platform to spawn_workers")
    if platform.engine is not None and platform.engine.started:
        raise RuntimeError(f"{platform!r} already runs an engine on an event loop (deepslate.connect); "
                           "use its client, or close it first")
    engine = Engine(platform.store, list(flows), n, node_id=platform.node_id,
                    commit_batch=platform.commit_batch, lease_seconds=platform.lease_seconds,
                    listen_addr=platform.listen_addr, ingress=platform.ingress, http_policy=platform.http_policy,
                    retention=platform.retention)
    runner = EngineThread(engine)
    platform.engine, platform.runner = engine, runner

    def spawn(name: str, flow_name: str, args: dict[str, Any] | None = None, *,
              timeout: float | None = None) -> tuple[int, bool]:
        """Create isolate ``name`` running ``flow_name(**args)``: (id, exists).

        Raises TimeoutError once ``timeout`` seconds pass without the engine answering. Such a
        spawn may still have been committed (the engine may get to it later): spawn is
        idempotent by name, so calling it again tells (``exists`` is True if it was)."""
        return runner.call(engine.spawn(name, flow_name, args), timeout, cancel=False,
                           on_timeout=f"spawn({name!r}) got no answer from the engine within {timeout} s "
                                      "(its event loop is busy); it may still be committed: spawn again to know")

    def wait(name: str, timeout: float | None = None) -> Any:
        """The flow's value; raises FlowFailed, FlowCancelled, or TimeoutError after ``timeout``
        seconds (at most a fraction of a second later, even when the engine loop is held)."""
        t = _check_timeout(timeout)
        return runner.call(engine.wait(name, t), None if t is None else t + WAIT_GRACE,
                           on_timeout=f"isolate {name!r} did not finish within {timeout} s "
                                      "(the engine did not answer: its event loop is busy)")

    def cancel(name: str, *, timeout: float | None = None) -> bool:
        """Cancel isolate ``name`` (False if it had finished); TimeoutError after ``timeout`` s.
        A cancel that timed out may still take effect once the engine gets to it."""
        return runner.call(engine.cancel(name), timeout, cancel=False,
                           on_timeout=f"cancel({name!r}) got no answer from the engine within {timeout} s "
                                      "(its event loop is busy); it may still take effect")

    def send(name: str, method: str, route: str, body: bytes, *, key: str | None = None,
             timeout: float | None = None) -> int:
        """Deliver ``body`` to isolate ``name``'s ``http_listen(method, route)``, as the HTTP ingress
        does: committed before it returns (the message id), taken once, in order. ``key``: a
        delivery id; a repeat lands once. ValueError once the isolate's tree has finished."""
        return runner.call(engine.send(name, method, route, body, key=key), timeout, cancel=False,
                           on_timeout=f"send({name!r}) got no answer from the engine within {timeout} s "
                                      "(its event loop is busy); it may still be committed: send again "
                                      "with the same key to be sure it lands once")

    def retry(name: str, *, failed_at: float | None = None, timeout: float | None = None) -> bool:
        """Run failed isolate ``name`` again from its last good snapshot; False if it has none.
        ``failed_at``: retry only the failure of that ``updated_at`` (once, however often asked)."""
        return runner.call(engine.retry(name, failed_at=failed_at), timeout, cancel=False,
                           on_timeout=f"retry({name!r}) got no answer from the engine within {timeout} s "
                                      "(its event loop is busy); it may still take effect")

    def status(name: str, *, timeout: float | None = None) -> str:
        """running, sleeping, waiting, done, failed or cancelled; KeyError for an unknown name."""
        return runner.call(status_of(engine, name), timeout,
                           on_timeout=f"status({name!r}) got no answer from the engine within {timeout} s "
                                      "(its event loop is busy)")

    def list_(*, status: str | None = None, flow: str | None = None, limit: int = 100, offset: int = 0,
              timeout: float | None = None) -> builtins.list[IsolateInfo]:
        """Isolates as committed, oldest first: ``limit`` of them from ``offset``, filtered by
        status and flow name."""
        check_list(status, flow, limit, offset)
        return runner.call(list_of(engine, status, flow, limit, offset), timeout,
                           on_timeout=f"list() got no answer from the engine within {timeout} s "
                                      "(its event loop is busy)")

    def stop(timeout: float | None = STOP_TIMEOUT) -> None:
        """Shut the engine down (what is committed stays committed) and close the store. Waits
        at most ``timeout`` seconds for the engine; past that it logs, leaves the engine to finish
        on its own, and the platform counts as stopped anyway. Idempotent."""
        try:
            runner.stop(timeout)
        finally:
            if runner._stopped:          # not when refused (called from the engine's own thread)
                platform.mark_stopped()
                if platform.runner is runner:
                    platform.runner = None

    return Workers(spawn, wait, cancel, stop, send=send, retry=retry, status=status, list=list_)
