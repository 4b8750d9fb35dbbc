"""A FastAPI service with both kinds of endpoints: ``async def`` ones await the asyncio client,
plain ``def`` ones (run by FastAPI in its thread pool) call the synchronous doors.

    .venv/bin/python examples/fastapi_app.py [--store shop.db] [--port 8000] [--ingress 127.0.0.1:8765]

    curl -X POST localhost:8000/orders/o-1 -H 'content-type: application/json' \\
         -d '{"customer": "ann", "cents": 1250}'
    curl -X POST localhost:8000/orders/o-1/confirm -d 'ok'
    curl 'localhost:8000/orders/o-1?wait=5'          # async def: awaits the client
    curl 'localhost:8000/sync/orders/o-1?wait=5'     # def: the synchronous wait door

The lifespan starts the engine on its own thread (``spawn_workers``), because the ``def``
endpoints need its synchronous doors, and connects the asyncio client to it for the ``async def``
ones. A service with only ``async def`` endpoints runs the engine on uvicorn's own loop instead:
``async with deepslate.connect(platform, [order]) as client`` in the lifespan (docs/embedding.md).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

import deepslate
from deepslate import DSError, FlowCancelled, FlowFailed, SpawnConflict, flow, http_listen, idempotency_key, impure, \
    pure


@impure(retries=3, backoff=0.2)
def charge(customer: str, cents: int) -> str:
    # a real payment provider gets idempotency_key(), so a repeated call charges once
    return f"ch_{customer}_{cents}_{idempotency_key()[-6:]}"


@pure
def text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


@flow
async def order(customer: str, cents: int, confirm_within: float) -> str:
    receipt: str = charge(customer, cents)
    note: bytes | DSError = http_listen("POST", "/confirm", timeout=confirm_within)
    if isinstance(note, DSError):
        return f"{customer}: charged, not confirmed ({receipt})"
    return f"{customer}: confirmed {text(note)} ({receipt})"


class NewOrder(BaseModel):
    customer: str
    cents: int
    confirm_within: float = 3600.0


def create_app(store: str, ingress: str) -> FastAPI:
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        platform, _ = deepslate.new_sqlite(store, ingress)
        # starting and stopping the engine thread take a moment: not on the loop
        state["workers"] = await asyncio.to_thread(deepslate.spawn_workers, 4, platform, [order])
        state["client"] = await deepslate.connect(platform)
        try:
            yield
        finally:
            await state["client"].close()
            await asyncio.to_thread(state["workers"].stop)

    app = FastAPI(lifespan=lifespan)

    def client() -> deepslate.Client:
        c: deepslate.Client = state["client"]
        return c

    def workers() -> deepslate.runtime.Workers:
        w: deepslate.runtime.Workers = state["workers"]
        return w

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    # -- async def endpoints: the asyncio client ---------------------------------------------

    @app.post("/orders/{name}", status_code=201)
    async def create(name: str, body: NewOrder) -> dict[str, Any]:
        try:
            iid, exists = await client().spawn(name, "order", body.model_dump())
        except SpawnConflict as e:
            raise HTTPException(409, str(e)) from None
        except (TypeError, ValueError) as e:
            raise HTTPException(400, str(e)) from None
        if exists:
            raise _Answer(200, {"id": iid, "exists": True})
        return {"id": iid, "exists": False}

    @app.post("/orders/{name}/confirm", status_code=202)
    async def confirm(name: str, request: Request) -> dict[str, int]:
        try:
            return {"message": await client().send(name, "POST", "/confirm", await request.body())}
        except KeyError:
            raise HTTPException(404, "no such order") from None
        except ValueError as e:
            raise HTTPException(410, str(e)) from None

    @app.get("/orders/{name}")
    async def result(name: str, wait: float = 0.0) -> dict[str, Any]:
        try:
            return {"status": "done", "result": await client().wait(name, timeout=wait)}
        except KeyError:
            raise HTTPException(404, "no such order") from None
        except TimeoutError:
            raise _Answer(202, {"status": await client().status(name)}) from None
        except (FlowFailed, FlowCancelled) as e:
            raise HTTPException(500, str(e)) from None

    @app.get("/orders")
    async def listing(status: str | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, str]]:
        try:
            found = await client().list(status=status, flow="order", limit=limit, offset=offset)
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        return [{"name": i.name, "status": i.status, "waiting_on": i.waiting_on} for i in found]

    # -- def endpoints: the synchronous doors (FastAPI runs these in its thread pool) ----------

    @app.post("/sync/orders/{name}", status_code=201)
    def create_sync(name: str, body: NewOrder) -> dict[str, Any]:
        try:
            iid, exists = workers().spawn(name, "order", body.model_dump())
        except SpawnConflict as e:
            raise HTTPException(409, str(e)) from None
        if exists:
            raise _Answer(200, {"id": iid, "exists": True})
        return {"id": iid, "exists": False}

    @app.get("/sync/orders/{name}")
    def result_sync(name: str, wait: float = 0.0) -> dict[str, Any]:
        try:
            return {"status": "done", "result": workers().wait(name, timeout=wait)}
        except KeyError:
            raise HTTPException(404, "no such order") from None
        except TimeoutError:
            raise _Answer(202, {"status": workers().status(name)}) from None
        except (FlowFailed, FlowCancelled) as e:
            raise HTTPException(500, str(e)) from None

    @app.get("/sync/orders")
    def listing_sync(status: str | None = None) -> list[dict[str, str]]:
        try:
            found = workers().list(status=status, flow="order")
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        return [{"name": i.name, "status": i.status, "waiting_on": i.waiting_on} for i in found]

    @app.exception_handler(_Answer)
    async def answer(request: Request, exc: _Answer) -> Any:
        return JSONResponse(exc.body, status_code=exc.status)

    return app


class _Answer(Exception):
    """An answer with another status than the endpoint's usual one (exists: 200, pending: 202)."""

    def __init__(self, status: int, body: dict[str, Any]):
        self.status, self.body = status, body


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default="shop.db")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000, help="0: any free port")
    ap.add_argument("--ingress", default="127.0.0.1:8765", help="deepslate's HTTP ingress (port 0: any free one)")
    a = ap.parse_args()
    server = uvicorn.Server(uvicorn.Config(create_app(a.store, a.ingress), host=a.host, port=a.port,
                                           log_level="warning"))

    async def serve() -> None:
        serving = asyncio.ensure_future(server.serve())     # until SIGINT / SIGTERM
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if server.started:
            host, port = server.servers[0].sockets[0].getsockname()[:2]
            print(json.dumps({"serving": f"http://{host}:{port}"}), flush=True)
        await serving

    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again: let that end here
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    print("stopped", flush=True)


def _interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
