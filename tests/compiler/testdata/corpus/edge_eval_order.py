# Evaluation order beyond operators: call arguments, list and dict displays (key before value),
# item assignment (value first), augmented item assignment (index first), conditional
# expressions, f-string fields, chained == and a short-circuited while test.
# run: order()
# expect: ['12', '[0, 7, 7]', "{'k1': 11, 'k2': 2}", '2', '1-2', 'False', '2']
# log: -- call
# log: arg1
# log: arg2
# log: -- displays
# log: x0
# log: x1
# log: x2
# log: k1
# log: v1
# log: k2
# log: v2
# log: -- item assignment
# log: value
# log: index
# log: -- augmented
# log: index
# log: value
# log: k1
# log: value
# log: -- conditional
# log: test
# log: else
# log: -- f-string
# log: f1
# log: f2
# log: -- chained
# log: a
# log: b
# log: c
# log: -- while
# log: guard
# log: guard
from deepslate import flow


@flow
async def seen(tag: str, v: int) -> int:
    print(tag)
    return v


@flow
async def key(tag: str) -> str:
    print(tag)
    return tag


@flow
async def pair(a: int, b: int) -> int:
    return a * 10 + b


@flow
async def order() -> list[str]:
    print("-- call")
    p: int = pair(seen("arg1", 1), seen("arg2", 2))
    print("-- displays")
    xs: list[int] = [seen("x0", 0), seen("x1", 1), seen("x2", 2)]
    d: dict[str, int] = {key("k1"): seen("v1", 1), key("k2"): seen("v2", 2)}
    print("-- item assignment")
    xs[seen("index", 1)] = seen("value", 7)
    print("-- augmented")
    xs[seen("index", 2)] += seen("value", 5)
    d[key("k1")] += seen("value", 10)
    print("-- conditional")
    c: int = seen("then", 1) if seen("test", 0) == 1 else seen("else", 2)
    print("-- f-string")
    f: str = f"{seen('f1', 1)}-{seen('f2', 2)}"
    print("-- chained")
    eq: bool = seen("a", 1) == seen("b", 1) == seen("c", 2) == seen("never", 2)
    print("-- while")
    n: int = 0
    while n < 2 and seen("guard", n) >= 0:
        n += 1
    return [str(p), str(xs), str(d), str(c), f, str(eq), str(n)]
