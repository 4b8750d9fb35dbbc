"""An aiohttp server on 127.0.0.1 with one route, on an event loop of its own thread: the
upstream that crash-test workers (other processes) call while the test looks on."""
import asyncio
import threading

from aiohttp import web


class ThreadServer:
    def __init__(self, method: str, path: str, handler) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(method, path, handler), self.loop).result(10)

    async def _start(self, method: str, path: str, handler) -> str:
        app = web.Application()
        app.router.add_route(method, path, handler)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{self.runner.addresses[0][1]}{path}"

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
