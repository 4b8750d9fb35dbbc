# Go-like block scoping: a declaration inside a loop body is fresh on each iteration,
# sibling blocks may reuse a name, and a variable declared without a value gets one later.
# run: fresh(n=3)
# expect: [[0], [1], [2]]
# run: siblings(flag=True)
# expect: 'then:1'
# run: siblings(flag=False)
# expect: 'else:2.5'
# run: later(n=4)
# expect: 'even'
from deepslate import flow


@flow
async def fresh(n: int) -> list[list[int]]:
    out: list[list[int]] = []
    for i in range(n):
        acc: list[int] = []
        acc.append(i)
        out.append(acc)
    return out


@flow
async def siblings(flag: bool) -> str:
    if flag:
        v: int = 1
        return "then:" + str(v)
    else:
        v: float = 2.5
        return "else:" + str(v)


@flow
async def later(n: int) -> str:
    label: str
    if n % 2 == 0:
        label = "even"
    else:
        label = "odd"
    return label
