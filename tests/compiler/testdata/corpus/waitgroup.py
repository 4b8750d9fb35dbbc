# dpslio.WaitGroup fan-out: a parent waits for N children; results come back through a queue.
# cpython: no (wait groups and child isolates need a driver)
from deepslate import dpslio, flow, sleep


@flow
async def square(wg: dpslio.WaitGroup, out: dpslio.Queue[int], n: int) -> None:
    sleep(0.1 * n)
    await out.put(n * n)
    await wg.done()


# run: main(n=6)
# expect: 91
@flow
async def main(n: int) -> int:
    wg: dpslio.WaitGroup = dpslio.WaitGroup()
    out: dpslio.Queue[int] = dpslio.Queue[int]()
    wg.add(n)
    for i in range(1, n + 1):
        dpslio.create_task(square(wg, out, i))
    await wg.wait()
    total: int = 0
    for i in range(n):
        v: int = await out.get()
        total = total + v
    return total


# run: empty()
# expect: 'done'
@flow
async def empty() -> str:
    wg: dpslio.WaitGroup = dpslio.WaitGroup()
    await wg.wait()
    return "done"
