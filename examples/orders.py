"""Orders fanned out to durable workers: a queue of orders, a wait group, a lock around a
shared ledger, and a payment call made exactly once with deepslate.idempotency_key().

    .venv/bin/python examples/orders.py [--store orders.db] [--orders 8]

Kill it at any moment and run it again: no order is lost or charged twice."""
import argparse
import json
import os

from deepslate import DSError, dpslio, flow, idempotency_key, impure, new_sqlite, spawn_workers

LEDGER = os.environ.get("ORDERS_LEDGER", "ledger.jsonl")


@impure(retries=3, backoff=0.1)
def charge(order: int, cents: int) -> str | DSError:
    # a real provider deduplicates on the key; the ledger file stands in for it
    key = idempotency_key()
    seen = set()
    if os.path.exists(LEDGER):
        with open(LEDGER) as f:
            seen = {json.loads(line)["key"] for line in f}
    if key not in seen:
        if cents > 10_000:
            raise ValueError(f"order {order}: amount over the limit")
        with open(LEDGER, "a") as f:
            f.write(json.dumps({"key": key, "order": order, "cents": cents}) + "\n")
    return f"paid-{order}"


@flow
async def cashier(orders: dpslio.Queue[int], book: dpslio.Lock, totals: dpslio.Queue[int],
                  wg: dpslio.WaitGroup, n: int) -> None:
    for k in range(n):
        order: int = await orders.get()
        r: str | DSError = charge(order, order * 100)
        await book.acquire()
        if isinstance(r, DSError):
            await totals.put(0)
        else:
            await totals.put(order * 100)
        await book.release()
    await wg.done()


@flow
async def shop(count: int, cashiers: int) -> int:
    orders: dpslio.Queue[int] = dpslio.Queue[int](2)
    totals: dpslio.Queue[int] = dpslio.Queue[int]()
    book: dpslio.Lock = dpslio.Lock()
    wg: dpslio.WaitGroup = dpslio.WaitGroup()
    wg.add(cashiers)
    for c in range(cashiers):
        dpslio.create_task(cashier(orders, book, totals, wg, count // cashiers))
    for i in range(count):
        await orders.put(i + 1)
    await wg.wait()
    cents: int = 0
    for i in range(count):
        cents = cents + await totals.get()
    print(f"{count} orders, {cents} cents")
    return cents


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", default="orders.db")
    ap.add_argument("--orders", type=int, default=8)
    ap.add_argument("--listen", default="127.0.0.1:8765", help="HTTP ingress address (port 0: any free port)")
    a = ap.parse_args()
    platform, _ = new_sqlite(a.store, a.listen)
    spawn, wait, cancel, stop = spawn_workers(4, platform, [shop])
    spawn("shop", "shop", {"count": a.orders, "cashiers": 2})
    print("total cents:", wait("shop", timeout=60))
    stop()


if __name__ == "__main__":
    main()
