# match/case on int, str and bool literals with a wildcard, no wildcard (no case taken), inside loops.
# run: main(codes=[200, 201, 404, 500, 302])
# expect: ['ok', 'created', 'not found', 'server error', 'other']
# run: words(xs=["go", "stop", "wait", "go"])
# expect: 'G.S.?.G.'
# run: no_default(n=3)
# expect: 'unset'
# run: no_default(n=1)
# expect: 'one'
# run: flags(b=True)
# expect: 'yes'
from deepslate import flow


@flow
async def status(code: int) -> str:
    match code:
        case 200:
            return "ok"
        case 201:
            return "created"
        case 404:
            return "not found"
        case 500:
            return "server error"
        case _:
            return "other"


@flow
async def main(codes: list[int]) -> list[str]:
    out: list[str] = []
    for c in codes:
        out.append(status(c))
    return out


@flow
async def words(xs: list[str]) -> str:
    out: str = ""
    for x in xs:
        match x:
            case "go":
                out = out + "G"
            case "stop":
                out = out + "S"
            case _:
                out = out + "?"
        out = out + "."
    return out


@flow
async def no_default(n: int) -> str:
    r: str = "unset"
    match n:
        case 1:
            r = "one"
        case 2:
            r = "two"
    return r


@flow
async def flags(b: bool) -> str:
    r: str = ""
    match b:
        case True:
            r = "yes"
        case False:
            r = "no"
    return r
