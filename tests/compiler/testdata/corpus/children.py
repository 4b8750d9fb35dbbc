# create_task: children and grandchildren run concurrently and report back through queues;
# a child gets copies of list arguments, so the parent's list is unchanged. A branch returns
# at once; its leaves are detached, so they outlive it (attached ones would be cancelled).
# cpython: no (child isolates need a driver)
from deepslate import dpslio, flow, pure, sleep


@pure
def ordered(xs: list[str]) -> list[str]:
    return sorted(xs)


@flow
async def leaf(out: dpslio.Queue[str], name: str, xs: list[int]) -> None:
    xs.append(0)
    sleep(0.2)
    await out.put(name + ":" + str(len(xs)))


@flow
async def branch(out: dpslio.Queue[str], name: str) -> None:
    dpslio.create_task(leaf(out, name + ".a", [1]), detach=True)
    dpslio.create_task(leaf(out, name + ".b", [1, 2]), detach=True)
    await out.put(name)


# run: main()
# expect: [['left', 'left.a:2', 'left.b:3', 'right', 'right.a:2', 'right.b:3'], ['1']]
@flow
async def main() -> list[list[str]]:
    out: dpslio.Queue[str] = dpslio.Queue[str]()
    mine: list[int] = [7]
    dpslio.create_task(branch(out, "left"))
    dpslio.create_task(branch(out, "right"))
    dpslio.create_task(leaf(out, "solo", mine))
    got: list[str] = []
    for i in range(7):
        s: str = await out.get()
        if s != "solo:2":
            got.append(s)
    return [ordered(got), [str(len(mine))]]


@flow
async def divide(out: dpslio.Queue[str], n: int) -> None:
    await out.put(str(100 // n))  #@childdiv


# run: child_fault()
# expect fault: ZeroDivisionError @childdiv
@flow
async def child_fault() -> str:
    out: dpslio.Queue[str] = dpslio.Queue[str]()
    dpslio.create_task(divide(out, 4))
    first: str = await out.get()
    dpslio.create_task(divide(out, 0))
    second: str = await out.get()
    return first + second
