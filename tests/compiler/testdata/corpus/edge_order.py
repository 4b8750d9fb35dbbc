# Evaluation order, short-circuiting and chained comparisons, observed through printed lines.
# run: order()
# expect: ['7', 'False', 'False', 'True', 'False']
# log: a
# log: b
# log: c
# log: left
# log: mid
# log: left
# log: left
# log: right
from deepslate import flow


@flow
async def seen(tag: str, v: int) -> int:
    print(tag)
    return v


@flow
async def order() -> list[str]:
    total: int = seen("a", 1) + seen("b", 2) * seen("c", 3)
    chained: bool = seen("left", 5) < seen("mid", 1) < seen("never", 9)
    short: bool = seen("left", 0) == 1 and seen("never", 1) == 1
    either: bool = seen("left", 1) == 1 or seen("never", 1) == 1
    last: bool = seen("right", 2) == 3 or False
    return [str(total), str(chained), str(short), str(either), str(last)]
