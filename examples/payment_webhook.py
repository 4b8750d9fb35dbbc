"""Charge a card, wait for the provider's signed webhook, refund if it says no or never comes.

    .venv/bin/python examples/payment_webhook.py [--store payments.db] [--order order-7]
        [--cents 4200] [--deadline 900] [--provider URL] [--outcome succeeded|failed|silent]

Without --provider, a small stand-in provider runs in this process: it answers the charge,
then posts a webhook signed the Standard Webhooks way (the scheme Stripe-like providers use)
to the flow's route. The ingress refuses unsigned or tampered webhooks (401) and takes a
repeat of one delivery (the same webhook-id) once. The charge and the refund carry an Idempotency-Key that stays
the same across retries and restarts, so the provider charges once however often we crash."""
import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass

from aiohttp import ClientSession, web

from deepslate import DSError, Ingress, dpslio, flow, http_listen, http_request, json_marshal, json_unmarshal, \
    new_sqlite, now, sleep, spawn_workers, webhooks

SECRET = "whsec_" + base64.b64encode(b"an example secret, keep yours safe").decode()


@dataclass
class Charge:
    id: str
    status: str


@dataclass
class Event:
    type: str
    charge: str


@flow
async def payment(order: str, cents: int, provider: str, deadline: float) -> str:
    headers: dict[str, str] = {"Content-Type": "application/json"}
    ask: bytes | DSError = json_marshal({"order": order, "cents": str(cents)})
    if isinstance(ask, DSError):
        return f"{order}: {ask.message}"
    r: bytes | DSError = http_request("POST", provider + "/charges", headers, ask)
    if isinstance(r, DSError):
        return f"{order}: not charged ({r.message})"
    charge: Charge | DSError = json_unmarshal[Charge](r)
    if isinstance(charge, DSError):
        return f"{order}: unreadable charge ({charge.message})"
    print(f"charged {cents} cents as {charge.id}; waiting for the provider")
    until: float = now() + deadline
    why: str = ""
    while why == "":
        match dpslio.select:
            case _ if body := await http_listen("POST", "/webhook"):
                ev: Event | DSError = json_unmarshal[Event](body)
                if isinstance(ev, DSError):
                    print(f"ignored an unreadable event: {ev.message}")
                elif ev.charge != charge.id:
                    print(f"ignored an event for {ev.charge}")
                elif ev.type == "charge.succeeded":
                    return f"{order}: paid ({charge.id})"
                else:
                    why = ev.type
            case _ if await sleep(until - now()):
                why = f"no confirmation within {deadline} s"
    print(f"refunding {charge.id}: {why}")
    back: bytes | DSError = json_marshal({"charge": charge.id})
    if isinstance(back, DSError):
        return f"{order}: {back.message}"
    rr: bytes | DSError = http_request("POST", provider + "/refunds", headers, back, retries=10)
    if isinstance(rr, DSError):
        return f"{order}: refund of {charge.id} failed ({rr.message})"
    return f"{order}: refunded ({why})"


def sign(secret: str, msg_id: str, body: bytes) -> dict[str, str]:
    """Standard Webhooks headers for ``body``: what a provider sends."""
    ts = str(int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": msg_id, "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(mac).decode(), "Content-Type": "application/json"}


class StandInProvider:
    """A payment provider on 127.0.0.1 that charges, refunds, and calls back with a signed event."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        self.charges: dict[str, str] = {}       # Idempotency-Key -> charge id: one charge per key
        self.refunds: set[str] = set()
        self.ingress = ""                       # where to post events: the engine's ingress URL
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/charges", self.charge)
        app.router.add_post("/refunds", self.refund)
        runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        ready.set()
        self.loop.run_forever()

    async def charge(self, request: web.Request) -> web.Response:
        ask = await request.json()
        key = request.headers.get("Idempotency-Key", "")
        first = key not in self.charges
        cid = self.charges.setdefault(key, "ch_" + uuid.uuid4().hex[:12])
        if first and self.outcome != "silent":
            asyncio.get_running_loop().create_task(self.call_back(ask["order"], cid))
        return web.json_response({"id": cid, "status": "pending"})

    async def refund(self, request: web.Request) -> web.Response:
        self.refunds.add((await request.json())["charge"])
        return web.json_response({"ok": True})

    async def call_back(self, order: str, cid: str) -> None:
        await asyncio.sleep(0.2)
        body = json.dumps({"type": f"charge.{self.outcome}", "charge": cid}).encode()
        headers = sign(SECRET, "evt_" + cid, body)
        async with ClientSession() as s:
            async with s.post(f"{self.ingress}/{order}/webhook", data=body, headers=headers) as r:
                print(f"provider: webhook for {cid} answered {r.status}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default="payments.db")
    ap.add_argument("--listen", default="127.0.0.1:8765", help="where the ingress listens (port 0: any free one)")
    ap.add_argument("--order", default="order-7")
    ap.add_argument("--cents", type=int, default=4200)
    ap.add_argument("--deadline", type=float, default=900.0, help="seconds to wait for the webhook")
    ap.add_argument("--provider", default=None, help="the provider's base URL (default: a stand-in)")
    ap.add_argument("--outcome", choices=["succeeded", "failed", "silent"], default="succeeded",
                    help="what the stand-in provider reports")
    a = ap.parse_args()
    stand_in = StandInProvider(a.outcome) if a.provider is None else None
    provider: str = a.provider if stand_in is None else stand_in.url
    ingress = Ingress(routes={"POST /webhook": webhooks.StandardWebhooks(SECRET)})
    platform, _ = new_sqlite(a.store, a.listen, ingress=ingress)
    spawn, wait, cancel, stop = spawn_workers(2, platform, [payment])
    if stand_in is not None and platform.engine is not None:
        stand_in.ingress = platform.engine.ingress_url or ""
    try:
        # the typed doors: the arguments and the result are checked against the flow's signature
        payment.spawn(spawn, a.order, order=a.order, cents=a.cents, provider=provider, deadline=a.deadline)
        print("result:", payment.wait(wait, a.order), flush=True)
        if stand_in is not None:
            print(f"provider: {len(stand_in.charges)} charge(s), {len(stand_in.refunds)} refund(s)", flush=True)
    finally:
        stop()


if __name__ == "__main__":
    main()
