# A bool kept in an int | bool union stays a bool, as in CPython: it prints as True, == 1 holds
# and isinstance sees a bool; split off with isinstance(x, bool), what is left is a plain int.
# run: listed()
# expect: ['bool True True False', 'int 7 7 1.5 8', 'str a', 'bool False False True']
# log: True [True] True True 1
# log: 7 [7] False False 7
# log: False [False] False True 0
# run: keyed()
# expect: ['a True True True True', 'b none', 'c 3 3 False False', 'd False False False True']
# run: param(v=True)
# expect: 'bool True 1'
# run: param(v=0)
# expect: 'int 0 0 0'
# run: param(v="s")
# expect: 'str s'
from deepslate import flow


@flow
async def listed() -> list[str]:
    xs: list[int | bool | str] = [True, 7, "a", False]
    out: list[str] = []
    for x in xs:
        if isinstance(x, int):
            print(x, [x], x == 1, isinstance(x, bool), int(x))
        if isinstance(x, bool):
            out.append("bool " + str(x) + f" {x} " + str(not x))
        elif isinstance(x, int):
            out.append("int " + str(x) + " " + str(max(x, 0)) + " " + str(min(x, 1.5)) + " " + str(x + 1))
        else:
            out.append("str " + x)
    return out


@flow
async def keyed() -> list[str]:
    d: dict[str, int | bool | None] = {"a": True, "b": None, "c": 3, "d": False}
    out: list[str] = []
    for k in d:
        v: int | bool | None = d[k]
        if v is not None:
            out.append(k + " " + str(v) + f" {v} " + str(v == 1) + " " + str(isinstance(v, bool)))
        else:
            out.append(k + " none")
    return out


@flow
async def param(v: int | bool | str) -> str:
    if isinstance(v, bool):
        return "bool " + str(v) + " " + str(int(v))
    if isinstance(v, int):
        return "int " + str(v) + " " + str(-v) + " " + str(max(v, 0))
    return "str " + v
