"""Flows the crash tests run in a worker process that gets SIGKILLed."""
import time

from deepslate import DSError, dpslio, flow, http_request, idempotency_key, impure


@impure
def record(path: str, who: str, i: int) -> int:
    # the effect lives outside the store, so the test can count how often it really ran
    with open(path, "a") as f:
        f.write(f"{who} {i} {idempotency_key()}\n")
    time.sleep(0.001)     # a little real work, so kills land in the middle of the run
    return i


@flow
async def stepper(path: str, who: str, n: int) -> int:
    total: int = 0
    for i in range(n):
        total = total + record(path, who, i)
    return total


@flow
async def consume(q: dpslio.Queue[int], path: str, who: str, n: int, done: dpslio.WaitGroup) -> None:
    for k in range(n):
        v: int = await q.get()
        record(path, who, v)
    await done.done()


@flow
async def pipeline(path: str, n: int, consumers: int) -> int:
    q: dpslio.Queue[int] = dpslio.Queue[int](4)
    done: dpslio.WaitGroup = dpslio.WaitGroup()
    done.add(consumers)
    for c in range(consumers):
        dpslio.create_task(consume(q, path, "c" + str(c), n // consumers, done))
    for i in range(n):
        await q.put(i)
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
