# DSError values and isinstance narrowing: positive and negative checks, narrowing after an early
# return, DSError passed through flows, reading the error message.
from deepslate import DSError, flow


# run: main(n=4)
# expect: 'half=2'
# run: main(n=3)
# expect: DSError('odd number: 3')
# run: chain(xs=[2, 4, 6])
# expect: 6
# run: chain(xs=[2, 5, 6])
# expect: DSError('odd number: 5')
# run: message(n=9)
# expect: 'failed: odd number: 9'
# run: message(n=8)
# expect: 'got 4'
@flow
async def half(n: int) -> int | DSError:
    if n % 2 != 0:
        return DSError("odd number: " + str(n))
    return n // 2


@flow
async def main(n: int) -> str | DSError:
    r: int | DSError = half(n)
    if not isinstance(r, int):
        return r
    return "half=" + str(r)


@flow
async def chain(xs: list[int]) -> int | DSError:
    total: int = 0
    for x in xs:
        h: int | DSError = half(x)
        if isinstance(h, DSError):
            return h
        total = total + h
    return total


@flow
async def message(n: int) -> str:
    r: int | DSError = half(n)
    if isinstance(r, DSError):
        return "failed: " + str(r)
    return "got " + str(r)


# run: kinds(n=1)
# expect: [DSError('slow', kind='timeout'), DSError('bad')]
# run: kinds(n=-1)
# expect: []
@flow
async def kinds(n: int) -> list[DSError]:
    out: list[DSError] = []
    if n < 0:
        return out
    out.append(DSError("slow", kind="timeout"))
    out.append(DSError("bad"))
    return out


# run: accept(r=5)
# expect: 10
@flow
async def accept(r: int | DSError) -> int:
    if isinstance(r, DSError):
        return -1
    return r * 2


# run: accept_error()
# expect: -1
@flow
async def accept_error() -> int:
    e: int | DSError = DSError("nope")
    return accept(e)
