"""The README's doors: ``new_sqlite`` and ``spawn_workers``.

They run an ``Engine`` on its own event loop in its own thread, so plain
synchronous code (a FastAPI handler, a script) can call ``spawn``/``wait``/
``cancel``/``stop`` from any thread while isolates keep running.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Iterable

from ..store.base import Store
from ..store.sqlite import SQLiteStore
from .engine import Engine


class Platform:
    """An opened store plus the node's settings; what ``spawn_workers`` runs on."""

    def __init__(self, store: Store, listen_addr: str, *, node_id: str = "local", commit_batch: int = 1000,
                 lease_seconds: float = 30.0):
        self.store = store
        self.listen_addr = listen_addr
        self.node_id = node_id
        self.commit_batch = commit_batch
        self.lease_seconds = lease_seconds
        self.engine: Engine | None = None
        self.runner: "EngineThread | None" = None

    def __repr__(self) -> str:
        return f"Platform({self.store.path!r})"


def _check_addr(listen_addr: str) -> None:
    host, sep, port = str(listen_addr).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"listen_addr must be 'host:port', not {listen_addr!r}")


def new_sqlite(path: str, listen_addr: str = "127.0.0.1:8765", *, commit_batch: int = 1000,
               synchronous: str = "FULL", log_keep: int = 200,
               max_page_count: int | None = None) -> tuple[Platform, None]:
    """Open (or create) the SQLite store at ``path``.

    Raises ``deepslate.store.StoreError`` naming the file when it cannot be used: a missing
    directory, a file that is not a deepslate database, a read-only file. The second element
    is always None; it keeps the README's ``platform, _ = ...`` shape."""
    _check_addr(listen_addr)
    if commit_batch < 1:
        raise ValueError(f"commit_batch must be at least 1, not {commit_batch}")
    store = SQLiteStore(path, synchronous=synchronous, log_keep=log_keep, max_page_count=max_page_count)
    return Platform(store, listen_addr, commit_batch=commit_batch), None


class EngineThread:
    """An engine running on a private event loop in a daemon thread."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name="deepslate-engine", daemon=True)
        self._stopped = False
        self.thread.start()
        try:
            self.call(engine.start())
        except BaseException:
            self._stopped = True
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            raise

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Any, timeout: float | None = None) -> Any:
        if self._stopped:
            coro.close()
            raise RuntimeError("the engine was stopped")
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("deepslate's synchronous doors cannot be called from inside a flow's "
                               "@impure function running on the engine loop; use the Engine methods")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self._stopped:
            return
        try:
            self.call(self.engine.stop())
        finally:
            self._stopped = True
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            if not self.thread.is_alive():
                self.loop.close()
            self.engine.store.close()


def spawn_workers(n: int, platform: Platform, flows: Iterable[Any]) -> tuple[
        Callable[..., tuple[int, bool]], Callable[..., Any], Callable[[str], bool], Callable[[], None]]:
    """Start the engine with ``n`` workers; returns ``(spawn, wait, cancel, stop)``.

    spawn(name, flow_name, args) -> (id, exists) is idempotent by name; wait(name, timeout=None)
    returns the flow's value or raises FlowFailed / FlowCancelled / TimeoutError; cancel(name);
    stop() shuts down, keeping everything committed. All are thread-safe."""
    if not isinstance(platform, Platform):
        raise TypeError(f"spawn_workers needs the platform from new_sqlite, not {type(platform).__name__}")
    if platform.runner is not None:
        raise RuntimeError(f"{platform!r} already has workers; call stop() first")
    engine = Engine(platform.store, list(flows), n, node_id=platform.node_id,
                    commit_batch=platform.commit_batch, lease_seconds=platform.lease_seconds)
    runner = EngineThread(engine)
    platform.engine, platform.runner = engine, runner

    def spawn(name: str, flow_name: str, args: dict[str, Any] | None = None) -> tuple[int, bool]:
        return runner.call(engine.spawn(name, flow_name, args))

    def wait(name: str, timeout: float | None = None) -> Any:
        return runner.call(engine.wait(name, timeout))

    def cancel(name: str) -> bool:
        return runner.call(engine.cancel(name))

    def stop() -> None:
        runner.stop()
        platform.runner = None

    return spawn, wait, cancel, stop
