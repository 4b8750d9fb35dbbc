# for over lists, dict keys and strings, with break and continue; an empty loop body never runs.
# run: main(xs=[3, -1, 4, -1, 5, 9, 2, 6])
# expect: [12, 2, 8]
# run: main(xs=[])
# expect: [0, 0, 0]
# run: find(xs=["a", "bb", "ccc", "dd"], n=2)
# expect: 'bb'
# run: find(xs=["a"], n=5)
# expect: ''
# run: over_dict()
# expect: 'a=1,b=2,c=3,'
# run: over_str(s="a1b2c3")
# expect: 'abc|123'
from deepslate import flow


@flow
async def main(xs: list[int]) -> list[int]:
    total: int = 0
    neg: int = 0
    for x in xs:
        if x < 0:
            neg = neg + 1
            continue
        if x > 8:
            break
        total = total + x
    seen: int = 0
    for y in xs:
        seen = seen + 1
    return [total, neg, seen]


@flow
async def find(xs: list[str], n: int) -> str:
    found: str = ""
    for x in xs:
        if len(x) == n:
            found = x
            break
    return found


@flow
async def over_dict() -> str:
    d: dict[str, int] = {"a": 1, "b": 2, "c": 3}
    out: str = ""
    for k in d:
        out = out + k + "=" + str(d[k]) + ","
    return out


@flow
async def over_str(s: str) -> str:
    letters: str = ""
    digits: str = ""
    for ch in s:
        if ch in "0123456789":
            digits = digits + ch
        else:
            letters = letters + ch
    return letters + "|" + digits
