# Early return from inside loops and branches, bare return giving None, a flow without return annotation.
# run: index_of(xs=[5, 7, 9], x=9)
# expect: 2
# run: index_of(xs=[5, 7, 9], x=4)
# expect: -1
# run: nothing(n=5)
# expect: None
# run: nothing(n=-1)
# expect: None
# run: no_annotation()
# expect: None
# run: nested_return(n=7)
# expect: [1, 6]
from deepslate import flow


@flow
async def index_of(xs: list[int], x: int) -> int:
    for i, v in enumerate(xs):
        if v == x:
            return i
    return -1


@flow
async def nothing(n: int) -> None:
    if n < 0:
        return
    i: int = 0
    while True:
        i = i + 1
        if i > n:
            return


@flow
async def no_annotation():
    x: int = 1
    x = x + 1


@flow
async def nested_return(n: int) -> list[int]:
    for a in range(1, n):
        for b in range(1, n):
            if a * b == 6 and a < b:
                return [a, b]
    return []
