"""Serving the inspector: ``spawn_inspector(platform, addr)`` and the ``Inspector`` it returns.

The inspector runs in its own thread with its own event loop and its own read-only store
connection: a slow page never stalls the engine, and the engine's loop is touched only to hand
it an action (``EngineActions``). ``deepslate inspector STORE`` serves the same application for a
store with no engine in the process.

It binds exactly where it is told: ``localhost`` is loopback only (127.0.0.1 and ::1 when the
host has it, on one port), ``0.0.0.0`` every IPv4 address. Port 0 takes a free port; read
``Inspector.url``. An address that cannot be bound raises ``ListenError`` naming it.
"""
from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
import threading
from typing import TYPE_CHECKING, Callable

from aiohttp import web

from ..runtime.doors import Platform
from ..runtime.ingress import Ingress, ListenError, split_addr
from ..store.base import Store
from ..store.sqlite import SQLiteStore
from .actions import Actions, EngineActions
from .api import STATE, Settings, make_app

if TYPE_CHECKING:
    from ..runtime.engine import Engine

log = logging.getLogger("deepslate.inspector")

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split(addr: str) -> tuple[str, int]:
    try:
        return split_addr(addr)
    except ValueError:
        raise ValueError(f"the inspector's address must be 'host:port' (localhost:8080; port 0 for any free "
                         f"port), not {addr!r}") from None


def bind(addr: str) -> list[socket.socket]:
    """Listening sockets for ``addr`` ('host:port'): one per address the host name stands for,
    all on one port (port 0: the one the first socket got)."""
    host, port = _split(addr)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ListenError(errno.EADDRNOTAVAIL, f"deepslate inspector cannot listen on {addr}: "
                                               f"{host!r} is not a name of this host ({e.strerror})") from None
    seen: list[tuple[socket.AddressFamily, str]] = []
    for info in infos:
        if (info[0], str(info[4][0])) not in seen:
            seen.append((info[0], str(info[4][0])))
    for attempt in range(5):        # port 0 on two addresses: the second may find the port taken
        socks: list[socket.socket] = []
        chosen: int = port
        try:
            for family, ip in seen:
                s = socket.socket(family, socket.SOCK_STREAM)
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    if family == socket.AF_INET6:
                        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s.bind((ip, chosen))
                except OSError as e:
                    s.close()
                    if socks and e.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                        continue        # e.g. localhost's ::1 on a host without IPv6
                    if port == 0 and socks and e.errno == errno.EADDRINUSE and attempt < 4:
                        raise _Again() from None
                    raise ListenError(e.errno, f"deepslate inspector cannot listen on {addr}: "
                                               f"{e.strerror or e}") from None
                socks.append(s)
                chosen = s.getsockname()[1]
            for s in socks:
                s.listen(128)
                s.setblocking(False)
            return socks
        except BaseException as e:
            for s in socks:
                s.close()
            if isinstance(e, _Again):
                continue
            raise
    raise AssertionError("unreachable")     # pragma: no cover


class _Again(Exception):
    pass


class Inspector:
    """A running inspector. ``url`` is where it serves (``http://host:port``); ``stop()`` ends it
    (the platform's ``stop()`` does too)."""

    def __init__(self, store: Store, actions: Actions, engine: Callable[[], "Engine | None"], addr: str, *,
                 token: str | None = None, max_body: int = Ingress.max_body):
        if token is not None and (not isinstance(token, str) or not token):
            raise ValueError("token must be a non-empty string, or None for no token")
        host, _ = _split(addr)
        socks = bind(addr)
        port = socks[0].getsockname()[1]
        shown = host if not host.replace(".", "").isdigit() and ":" not in host else socks[0].getsockname()[0]
        self.url = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
        self.addr = addr
        loopback = _is_loopback(host)
        if not loopback and token is None:
            log.warning("deepslate inspector on %s without a token: anyone who reaches this address can read "
                        "every isolate's state and cancel, retry or send to it", addr)
        self.addresses: list[tuple[str, int]] = [(s.getsockname()[0], s.getsockname()[1]) for s in socks]
        settings = Settings(token=token, cookie=f"deepslate_inspector_{port}", loopback_only=loopback,
                            max_body=max_body)
        self._app = make_app(store, actions, engine, settings)
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()        # set from stop(), on the inspector's loop
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._stopped = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._main, args=(socks,), name="deepslate-inspector", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT) or self._failed is not None:
            self.stop()
            raise RuntimeError(f"the deepslate inspector did not start on {addr}: {self._failed!r}")

    def __repr__(self) -> str:
        return f"<deepslate Inspector at {self.url}{' (stopped)' if self._stopped else ''}>"

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stopped

    def _main(self, socks: list[socket.socket]) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(self._app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        try:
            try:
                loop.run_until_complete(self._start(runner, socks))
            except BaseException as e:
                self._failed = e
                for s in socks:
                    s.close()
                loop.run_until_complete(runner.cleanup())
                return
            finally:
                self._ready.set()
            loop.run_until_complete(self._stop.wait())
            loop.run_until_complete(runner.cleanup())
        except BaseException as e:      # pragma: no cover - logged; the thread ends anyway
            log.error("the deepslate inspector ended on an error: %s: %s", type(e).__name__, e)
        finally:
            self._app[STATE].reader.close()     # when cleanup did not get to it
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _start(self, runner: web.AppRunner, socks: list[socket.socket]) -> None:
        await runner.setup()
        for s in socks:
            await web.SockSite(runner, s).start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop serving and close the inspector's store connection. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        if self._thread is threading.current_thread():
            raise RuntimeError("Inspector.stop() cannot be called from the inspector's own thread")
        if not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:    # its loop closed meanwhile
                pass
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("the deepslate inspector did not stop within %s s", timeout)


def _reader_of(store: Store) -> Store:
    """A read-only connection of its own to the platform's store."""
    if isinstance(store, SQLiteStore):
        return SQLiteStore(store.path, readonly=True)
    another = getattr(store, "another", None)       # PostgresStore: a pool of its own
    if another is None:
        raise TypeError(f"the inspector cannot open a reader of a {type(store).__name__}")
    reader: Store = another()
    return reader


def spawn_inspector(platform: Platform, addr: str = "localhost:8080", *, token: str | None = None) -> Inspector:
    """Serve the dashboard and the JSON API of ``platform``'s store on ``addr`` ('host:port'),
    from a thread of its own; actions (cancel, retry, send) go to the platform's engine. With a
    ``token`` every request needs it (``Authorization: Bearer``, or open ``/?token=...`` once in a
    browser). Stops with the platform's ``stop()``, or ``Inspector.stop()``."""
    if not isinstance(platform, Platform):
        raise TypeError(f"spawn_inspector needs the platform from new_sqlite or new_postgres, not {type(platform).__name__}")
    if platform.stopped:
        raise RuntimeError(f"{platform!r} was stopped: its store is closed")
    store = _reader_of(platform.store)
    try:
        ins = Inspector(store, EngineActions(platform), lambda: platform.engine, addr, token=token,
                        max_body=(platform.ingress or Ingress()).max_body)
    except BaseException:
        store.close()
        raise
    platform.on_stop(ins.stop)
    return ins
