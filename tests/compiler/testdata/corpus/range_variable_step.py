# range with a step only known at run time, a zero step faults.
# run: step(a=10, b=0, s=-3)
# expect: [10, 7, 4, 1]
# run: step(a=0, b=10, s=0)
# expect fault: ValueError @zerostep
from deepslate import flow


@flow
async def step(a: int, b: int, s: int) -> list[int]:
    out: list[int] = []
    for i in range(a, b, s):  #@zerostep
        out.append(i)
    return out

