"""Flows for the enumerated crash points: one per durable operation kind.

Every @impure effect appends ``who call_index key [extra]`` to a file outside the
store, so a test sees every run of every call, re-runs included.
"""
import time

from deepslate import DSError, dpslio, flow, http_listen, http_request, idempotency_key, impure, sleep


@impure
def note(path: str, who: str, i: int) -> int:
    with open(path, "a") as f:
        f.write(f"{who} {i} {idempotency_key()}\n")
    time.sleep(0.001)
    return i


@impure
def got(path: str, who: str, i: int, body: bytes) -> int:
    # a delivered http_listen body: the sequence number the sender put in it
    with open(path, "a") as f:
        f.write(f"{who} {i} {idempotency_key()} {body.decode()}\n")
    return int(body.decode())


@flow
async def impures(path: str, who: str, n: int) -> int:
    total: int = 0
    for i in range(n):
        total = total + note(path, who, i)
    return total


@flow
async def sleeper(path: str, who: str, n: int) -> int:
    total: int = 0
    for i in range(n):
        sleep(0.005)
        total = total + note(path, who, i)
    return total


@flow
async def caller(path: str, who: str, url: str, n: int) -> int:
    total: int = 0
    for i in range(n):
        r: bytes | DSError = http_request("POST", url, {"X-Who": who, "X-Call": str(i)}, b"x")
        if isinstance(r, bytes):
            total = total + note(path, who, i)
    return total


@flow
async def listener(path: str, who: str, n: int) -> int:
    seen: dict[int, bool] = {}
    i: int = 0
    while len(seen) < n:
        data: bytes | DSError = http_listen("POST", "/in")
        if isinstance(data, bytes):
            seen[got(path, who, i, data)] = True
            i = i + 1
    return len(seen)


@flow
async def consumer(q: dpslio.Queue[int], path: str, who: str, n: int, done: dpslio.WaitGroup) -> None:
    for k in range(n):
        v: int = await q.get()
        note(path, who, v)
    await done.done()


@flow
async def queues(path: str, who: str, n: int) -> int:
    q: dpslio.Queue[int] = dpslio.Queue[int](2)
    done: dpslio.WaitGroup = dpslio.WaitGroup()
    done.add(2)
    for c in range(2):
        dpslio.create_task(consumer(q, path, who + ".c" + str(c), n // 2, done))
    for i in range(n):
        await q.put(i)
    await done.wait()
    return n


@flow
async def holder(mu: dpslio.Lock, path: str, who: str, n: int, done: dpslio.WaitGroup) -> None:
    for i in range(n):
        await mu.acquire()
        note(path, who, i)
        await mu.release()
    await done.done()


@flow
async def locks(path: str, who: str, n: int) -> int:
    mu: dpslio.Lock = dpslio.Lock()
    done: dpslio.WaitGroup = dpslio.WaitGroup()
    done.add(3)
    for w in range(3):
        dpslio.create_task(holder(mu, path, who + ".h" + str(w), n, done))
    await done.wait()
    return 3 * n


@flow
async def member(path: str, who: str, i: int, wg: dpslio.WaitGroup) -> None:
    note(path, who, i)
    await wg.done()


@flow
async def waitgroups(path: str, who: str, n: int) -> int:
    total: int = 0
    for r in range(n):
        wg: dpslio.WaitGroup = dpslio.WaitGroup()
        wg.add(2)
        dpslio.create_task(member(path, who + ".a", r, wg))
        dpslio.create_task(member(path, who + ".b", r, wg))
        await wg.wait()
        total = total + note(path, who, r)
    return total


@flow
async def child(path: str, who: str) -> None:
    note(path, who, 0)


@flow
async def tasks(path: str, who: str, n: int) -> int:
    for i in range(n):
        # detached: each child runs to its end after its parent has returned
        dpslio.create_task(child(path, who + ".t" + str(i)), detach=True)
    return n


@flow
async def one(path: str, who: str, n: int) -> int:
    # spawned many times: the spawn and the return are its durable points around one effect
    return note(path, who, 0) + n


FLOWS = [impures, sleeper, caller, listener, queues, locks, waitgroups, tasks, one]
