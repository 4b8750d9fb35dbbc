# if / elif / else chains, nested conditions, conditions on every type's truth.
# run: main(xs=[-5, 0, 3, 15, 150])
# expect: ['negative', 'zero', 'small', 'medium', 'large']
# run: truthiness(s="", xs=[], n=0)
# expect: 'none'
# run: truthiness(s="a", xs=[1], n=2)
# expect: 'str list int'
from deepslate import flow


@flow
async def classify(n: int) -> str:
    if n < 0:
        return "negative"
    elif n == 0:
        return "zero"
    elif n < 10:
        return "small"
    elif n < 100:
        return "medium"
    else:
        return "large"


@flow
async def main(xs: list[int]) -> list[str]:
    out: list[str] = []
    for x in xs:
        out.append(classify(x))
    return out


@flow
async def truthiness(s: str, xs: list[int], n: int) -> str:
    parts: str = ""
    if s:
        parts = parts + "str"
    if xs:
        if parts:
            parts = parts + " "
        parts = parts + "list"
    if n:
        if parts:
            parts = parts + " "
        parts = parts + "int"
    if not parts:
        parts = "none"
    return parts
