"""Flows the crash tests run in a worker process that gets SIGKILLed."""
import os
import time

from deepslate import DSError, dpslio, flow, http_listen, http_request, idempotency_key, impure, pure, sleep


@impure
def record(path: str, who: str, i: int) -> int:
    # the effect lives outside the store, so the test can count how often it really ran
    with open(path, "a") as f:
        f.write(f"{who} {i} {idempotency_key()}\n")
    time.sleep(0.001)     # a little real work, so kills land in the middle of the run
    return i


@impure
def tick(path: str, who: str, i: int, prev: int) -> int:
    # a fresh random nonce on every run: the test tells which run's result the flow kept
    nonce = int.from_bytes(os.urandom(8), "big") >> 2
    with open(path, "a") as f:
        f.write(f"{who} {i} {idempotency_key()} {nonce} {prev}\n")
    return nonce


@flow
async def counter(path: str, who: str, n: int) -> list[int]:
    # each call gets the result kept from the call before, so every log line shows what the
    # flow kept; the fold covers them all
    count: int = 0
    kept: int = 0
    fold: int = 0
    for i in range(n):
        kept = tick(path, who, i, kept)
        fold = (fold * 1000003 + kept) % 2305843009213693951
        count = count + 1
    return [count, kept, fold]


@flow
async def stepper(path: str, who: str, n: int) -> int:
    total: int = 0
    for i in range(n):
        total = total + record(path, who, i)
    return total


@flow
async def produce(q: dpslio.Queue[int], first: int, n: int, done: dpslio.WaitGroup) -> int:
    for k in range(n):
        await q.put(first + k)
    await done.done()
    return n


@flow
async def take(q: dpslio.Queue[int], path: str, who: str, n: int, done: dpslio.WaitGroup) -> list[int]:
    got: list[int] = []
    for k in range(n):
        v: int = await q.get()
        record(path, who, v)
        got.append(v)
    await done.done()
    return got


@flow
async def exchange(path: str, producers: int, consumers: int, n: int) -> int:
    # children 1..producers put n items in all, the next `consumers` children take them
    q: dpslio.Queue[int] = dpslio.Queue[int](16)
    done: dpslio.WaitGroup = dpslio.WaitGroup()
    done.add(producers + consumers)
    for p in range(producers):
        dpslio.create_task(produce(q, p * (n // producers), n // producers, done))
    for c in range(consumers):
        dpslio.create_task(take(q, path, "c" + str(c), n // consumers, done))
    await done.wait()
    return n


@flow
async def guarded(mu: dpslio.Lock, path: str, who: str, n: int, done: dpslio.WaitGroup) -> None:
    for i in range(n):
        await mu.acquire()
        record(path, who + ":enter", i)
        record(path, who + ":leave", i)
        await mu.release()
    await done.done()


@flow
async def locked(path: str, n: int, workers: int) -> int:
    mu: dpslio.Lock = dpslio.Lock()
    done: dpslio.WaitGroup = dpslio.WaitGroup()
    done.add(workers)
    for w in range(workers):
        dpslio.create_task(guarded(mu, path, "w" + str(w), n, done))
    await done.wait()
    return n * workers


@flow
async def requester(path: str, who: str, url: str, n: int) -> int:
    # each step: an http_request (its Idempotency-Key recorded by the server), then an @impure
    total: int = 0
    for i in range(n):
        r: bytes | DSError = http_request("POST", url, {"X-Who": who, "X-Call": str(i)}, b"x")
        if isinstance(r, bytes):
            total = total + record(path, who, i)
    return total


@pure
def explode(x: int) -> int:
    raise RuntimeError(f"the lock holder fails ({x})")


@flow
async def hold_then_fail(mu: dpslio.Lock, got: dpslio.Queue[int]) -> int:
    await mu.acquire()
    await got.put(1)
    go: bytes | DSError = http_listen("POST", "/go")
    if isinstance(go, bytes):
        return explode(len(go))
    return explode(0)


@flow
async def hold_until_cancelled(mu: dpslio.Lock, got: dpslio.Queue[int]) -> int:
    await mu.acquire()
    await got.put(1)
    sleep(3600.0)
    await mu.release()
    return 0


@flow
async def wait_for_lock(mu: dpslio.Lock, path: str, done: dpslio.WaitGroup) -> int:
    await mu.acquire()
    record(path, "waiter", 1)
    await mu.release()
    await done.done()
    return 1


@flow
async def orphaned_lock(path: str, cancel: bool) -> int:
    # child 1 takes the lock and then fails or is cancelled; child 2 waits for it
    mu: dpslio.Lock = dpslio.Lock()
    got: dpslio.Queue[int] = dpslio.Queue[int](0)
    done: dpslio.WaitGroup = dpslio.WaitGroup()
    done.add(1)
    if cancel:
        dpslio.create_task(hold_until_cancelled(mu, got))
    else:
        dpslio.create_task(hold_then_fail(mu, got))
    held: int = await got.get()
    dpslio.create_task(wait_for_lock(mu, path, done))
    await done.wait()
    return held
