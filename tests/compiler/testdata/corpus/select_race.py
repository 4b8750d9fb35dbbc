# match dpslio.select: take from whichever queue has an item; the walrus target takes the
# queue's element type; a loop of selects drains two producers.
# cpython: no (select needs a driver)
from deepslate import dpslio, flow


@flow
async def send_ints(q: dpslio.Queue[int], n: int) -> None:
    for i in range(n):
        await q.put(i + 1)


@flow
async def send_strs(q: dpslio.Queue[str], words: list[str]) -> None:
    for w in words:
        await q.put(w)


# run: main()
# expect: ['6', 'abc']
@flow
async def main() -> list[str]:
    nums: dpslio.Queue[int] = dpslio.Queue[int]()
    strs: dpslio.Queue[str] = dpslio.Queue[str]()
    dpslio.create_task(send_ints(nums, 3))
    dpslio.create_task(send_strs(strs, ["a", "b", "c"]))
    total: int = 0
    text: str = ""
    for i in range(6):
        match dpslio.select:
            case _ if n := await nums.get():
                total = total + n
            case _ if s := await strs.get():
                text = text + s
    return [str(total), text]


# run: first()
# expect: 'second:7'
@flow
async def first() -> str:
    a: dpslio.Queue[int] = dpslio.Queue[int]()
    b: dpslio.Queue[int] = dpslio.Queue[int]()
    await b.put(7)
    r: str = ""
    match dpslio.select:
        case _ if x := await a.get():
            r = "first:" + str(x)
        case _ if y := await b.get():
            r = "second:" + str(y)
    return r
