# dpslio.Lock: children contend for a lock around a read-modify-write with a durable point inside.
# cpython: no (locks and child isolates need a driver)
from deepslate import dpslio, flow, sleep


@flow
async def bump(mu: dpslio.Lock, box: dpslio.Queue[int], wg: dpslio.WaitGroup, times: int) -> None:
    for i in range(times):
        await mu.acquire()
        v: int = await box.get()
        sleep(0.01)
        await box.put(v + 1)
        await mu.release()
    await wg.done()


# run: main(workers=4, times=5)
# expect: 20
@flow
async def main(workers: int, times: int) -> int:
    mu: dpslio.Lock = dpslio.Lock()
    box: dpslio.Queue[int] = dpslio.Queue[int]()
    wg: dpslio.WaitGroup = dpslio.WaitGroup()
    await box.put(0)
    wg.add(workers)
    for w in range(workers):
        dpslio.create_task(bump(mu, box, wg, times))
    await wg.wait()
    final: int = await box.get()
    return final


# run: reentry()
# expect: 'released twice'
@flow
async def reentry() -> str:
    mu: dpslio.Lock = dpslio.Lock()
    await mu.acquire()
    await mu.release()
    await mu.acquire()
    await mu.release()
    return "released twice"
