# dpslio.Queue between a parent and create_task children: producer/consumer, a bounded queue
# whose put waits, items of structured types copied across isolates.
# cpython: no (queues and child isolates need a driver)
from dataclasses import dataclass

from deepslate import dpslio, flow


@dataclass
class Job:
    id: int
    payload: list[int]


@flow
async def producer(q: dpslio.Queue[int], n: int) -> None:
    for i in range(n):
        await q.put(i * i)
    await q.put(-1)


# run: main(n=5)
# expect: 30
# trace: new_queue create_task queue_get queue_get queue_get queue_get queue_get queue_get
@flow
async def main(n: int) -> int:
    q: dpslio.Queue[int] = dpslio.Queue[int]()
    dpslio.create_task(producer(q, n))
    total: int = 0
    while True:
        v: int = await q.get()
        if v < 0:
            break
        total = total + v
    return total


@flow
async def worker(jobs: dpslio.Queue[Job], results: dpslio.Queue[int]) -> None:
    while True:
        j: Job = await jobs.get()
        if j.id < 0:
            return
        s: int = 0
        for x in j.payload:
            s = s + x
        j.payload.append(999)
        await results.put(j.id * 1000 + s)


# run: pipeline()
# expect: [1006, 2015, 3000]
@flow
async def pipeline() -> list[int]:
    jobs: dpslio.Queue[Job] = dpslio.Queue[Job]()
    results: dpslio.Queue[int] = dpslio.Queue[int]()
    dpslio.create_task(worker(jobs, results))
    mine: Job = Job(1, [1, 2, 3])
    await jobs.put(mine)
    await jobs.put(Job(2, [4, 5, 6]))
    await jobs.put(Job(3, []))
    await jobs.put(Job(-1, []))
    out: list[int] = []
    for i in range(3):
        r: int = await results.get()
        out.append(r)
    if len(mine.payload) != 3:
        out.append(-1)
    return out


@flow
async def slow_consumer(q: dpslio.Queue[str], done: dpslio.Queue[str]) -> None:
    got: str = ""
    for i in range(4):
        s: str = await q.get()
        got = got + s
    await done.put(got)


# run: bounded()
# expect: 'abcd'
@flow
async def bounded() -> str:
    q: dpslio.Queue[str] = dpslio.Queue[str](1)
    done: dpslio.Queue[str] = dpslio.Queue[str]()
    dpslio.create_task(slow_consumer(q, done))
    for s in ["a", "b", "c", "d"]:
        await q.put(s)
    r: str = await done.get()
    return r
