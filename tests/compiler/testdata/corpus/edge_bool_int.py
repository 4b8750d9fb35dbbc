# bool is a kind of int: isinstance, narrowing, match on neighbouring literals, bools in unions.
# run: isinstance_of_bools()
# expect: [True, True, True, True, True, True, True]
# run: narrowed(v=True)
# expect: 'an int: True'
# run: narrowed(v=7)
# expect: 'an int: 7'
# run: narrowed(v="s")
# expect: 'not an int: s'
# run: match_bool(b=True)
# expect: 'one'
# run: match_bool(b=False)
# expect: 'zero'
# run: match_int(n=0)
# expect: 'zero'
# run: match_int(n=1)
# expect: 'one or minus one'
# run: match_int(n=-1)
# expect: 'one or minus one'
# run: match_union(v=True)
# expect: 'True itself'
# run: match_union(v=1)
# expect: 'equal to 1'
# run: match_union(v=1.0)
# expect: 'equal to 1'
from deepslate import flow


@flow
async def isinstance_of_bools() -> list[bool]:
    b: bool = True
    v: int | bool | str = True
    w: int | bool = False
    return [isinstance(b, int), isinstance(v, int), isinstance(v, bool), isinstance(w, int),
            isinstance(w, bool), isinstance(v, (str, int)), int(b) == 1]


@flow
async def narrowed(v: int | bool | str) -> str:
    if isinstance(v, int):
        return "an int: " + str(v)
    return "not an int: " + v


@flow
async def match_bool(b: bool) -> str:
    match b:
        case 1:
            return "one"
        case 0.0:
            return "zero"
        case _:
            return "other"


@flow
async def match_int(n: int) -> str:
    match n:
        case 0.0:
            return "zero"
        case 1 | -1.0:
            return "one or minus one"
        case _:
            return "other"


@flow
async def match_union(v: int | float | bool) -> str:
    match v:
        case True:
            return "True itself"
        case 1:
            return "equal to 1"
        case _:
            return "other"
