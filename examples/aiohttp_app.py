"""An aiohttp service that runs deepslate on its own event loop (the asyncio client, no extra thread).

    .venv/bin/python examples/aiohttp_app.py [--store shop.db] [--port 8080] [--ingress 127.0.0.1:8765]

    curl -X POST localhost:8080/orders/o-1 -d '{"customer": "ann", "cents": 1250}'
    curl -X POST localhost:8080/orders/o-1/confirm -d 'ok'
    curl 'localhost:8080/orders/o-1?wait=5'
    curl 'localhost:8080/orders?status=waiting'

The engine starts and stops with the app (a ``cleanup_ctx``); handlers await the client, so a
request waiting for a flow never holds up another one. Kill the process while an order waits
for its confirmation and start it again: the order is still waiting, with its charge made once.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
from typing import AsyncIterator, Callable

from aiohttp import web

import deepslate
from deepslate import DSError, FlowCancelled, FlowFailed, SpawnConflict, flow, http_listen, idempotency_key, impure, pure


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
    print(f"charged {customer}: {receipt}")
    note: bytes | DSError = http_listen("POST", "/confirm", timeout=confirm_within)
    if isinstance(note, DSError):
        return f"{customer}: charged, not confirmed ({receipt})"
    return f"{customer}: confirmed {text(note)} ({receipt})"


CLIENT = web.AppKey("deepslate_client", deepslate.Client)


def engine_ctx(store: str, ingress: str) -> Callable[[web.Application], AsyncIterator[None]]:
    async def run(app: web.Application) -> AsyncIterator[None]:
        platform, _ = deepslate.new_sqlite(store, ingress)
        async with deepslate.connect(platform, [order]) as client:      # on this app's loop
            app[CLIENT] = client
            yield                                                       # the app serves here
    return run


routes = web.RouteTableDef()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


@routes.post("/orders/{name}")
async def create(request: web.Request) -> web.Response:
    body = await request.json()
    args = {"customer": body["customer"], "cents": body["cents"],
            "confirm_within": float(body.get("confirm_within", 3600))}
    try:
        iid, exists = await request.app[CLIENT].spawn(request.match_info["name"], "order", args)
    except SpawnConflict as e:
        return web.json_response({"error": str(e)}, status=409)
    except (TypeError, ValueError) as e:
        return web.json_response({"error": str(e)}, status=400)
    return web.json_response({"id": iid, "exists": exists}, status=200 if exists else 201)


@routes.post("/orders/{name}/confirm")
async def confirm(request: web.Request) -> web.Response:
    try:
        mid = await request.app[CLIENT].send(request.match_info["name"], "POST", "/confirm", await request.read())
    except KeyError:
        return web.json_response({"error": "no such order"}, status=404)
    except ValueError as e:
        return web.json_response({"error": str(e)}, status=410)
    return web.json_response({"message": mid}, status=202)


@routes.get("/orders/{name}")
async def result(request: web.Request) -> web.Response:
    client, name = request.app[CLIENT], request.match_info["name"]
    try:
        value = await client.wait(name, timeout=float(request.query.get("wait", "0")))
    except KeyError:
        return web.json_response({"error": "no such order"}, status=404)
    except TimeoutError:
        return web.json_response({"status": await client.status(name)}, status=202)
    except (FlowFailed, FlowCancelled) as e:
        return web.json_response({"error": str(e)}, status=500)
    return web.json_response({"status": "done", "result": value})


@routes.get("/orders")
async def listing(request: web.Request) -> web.Response:
    try:
        found = await request.app[CLIENT].list(status=request.query.get("status"), flow="order",
                                               limit=int(request.query.get("limit", "100")),
                                               offset=int(request.query.get("offset", "0")))
    except ValueError as e:             # a status that does not exist, a page out of range
        return web.json_response({"error": str(e)}, status=400)
    return web.json_response([{"name": i.name, "status": i.status, "waiting_on": i.waiting_on} for i in found])


def make_app(store: str, ingress: str) -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(engine_ctx(store, ingress))
    app.add_routes(routes)
    return app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default="shop.db")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080, help="0: any free port")
    ap.add_argument("--ingress", default="127.0.0.1:8765", help="deepslate's HTTP ingress (port 0: any free one)")
    a = ap.parse_args()

    app = make_app(a.store, a.ingress)

    async def serve() -> None:
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            await web.TCPSite(runner, a.host, a.port).start()
            host, port = runner.addresses[0][:2]
            print(json.dumps({"serving": f"http://{host}:{port}"}), flush=True)
            await asyncio.Event().wait()               # until SIGINT / SIGTERM
        finally:
            await runner.cleanup()                     # stops the engine: what is committed stays

    loop = asyncio.new_event_loop()
    main_task = loop.create_task(serve())
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main_task.cancel)
    try:
        loop.run_until_complete(main_task)
    except asyncio.CancelledError:
        pass
    finally:
        loop.close()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
