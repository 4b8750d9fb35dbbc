# match on literals of neighbouring types: number patterns compare with ==, so case 0 takes -0.0,
# case 1e999 takes inf and nothing takes a NaN; big ints and float patterns; strs by code points.
# run: on_float(texts=["-0.0", "1.0", "3", "nan", "inf", "-2.5", "0.5", "-inf"])
# expect: ['zero', 'one or three', 'one or three', 'other nan', 'inf', 'minus two and a half', 'other 0.5', 'other -inf']
# run: on_int(ns=[0, 1, 2, 9007199254740992, 9007199254740993, 18446744073709551616, -9223372036854775809])
# expect: ['zero', 'one or two', 'one or two', '2.0 ** 53', 'other 9007199254740993', '2 ** 64', 'below int64']
# run: on_bool()
# expect: ['1.0', 'True', '0', 'False']
# run: on_str(ss=["\ud800", "\U0001f600", "\ud83d\ude00", "\udcff", "a", ""])
# expect: ['lone high', 'astral', 'two surrogates', 'other 1', 'short', 'short']
# run: in_a_flow_call(x=2.0)
# expect: 'one'
# run: in_a_flow_call(x=2.5)
# expect: 'one and a quarter'
from deepslate import flow


@flow
async def on_float(texts: list[str]) -> list[str]:
    out: list[str] = []
    for t in texts:
        x: float = float(t)
        match x:
            case 0:
                out.append("zero")
            case 1 | 3:
                out.append("one or three")
            case 1e999:
                out.append("inf")
            case -2.5:
                out.append("minus two and a half")
            case _:
                out.append("other " + str(x))
    return out


@flow
async def on_int(ns: list[int]) -> list[str]:
    out: list[str] = []
    for n in ns:
        match n:
            case 0.0:
                out.append("zero")
            case 1.0 | 2:
                out.append("one or two")
            case 9007199254740992.0:
                out.append("2.0 ** 53")
            case 18446744073709551616:
                out.append("2 ** 64")
            case -9223372036854775809:
                out.append("below int64")
            case _:
                out.append("other " + str(n))
    return out


@flow
async def on_bool() -> list[str]:
    out: list[str] = []
    for b in [True, False]:
        match b:
            case 1.0:
                out.append("1.0")
            case 0:
                out.append("0")
        match b:
            case False:
                out.append("False")
            case True:
                out.append("True")
    return out


@flow
async def on_str(ss: list[str]) -> list[str]:
    out: list[str] = []
    for s in ss:
        match s:
            case "\ud800":
                out.append("lone high")
            case "\U0001f600":
                out.append("astral")
            case "\ud83d\ude00":
                out.append("two surrogates")
            case "" | "a":
                out.append("short")
            case _:
                out.append("other " + str(len(s)))
    return out


@flow
async def half(x: float) -> float:
    return x / 2


@flow
async def in_a_flow_call(x: float) -> str:
    match half(x):
        case 1:
            return "one"
        case 1.25:
            return "one and a quarter"
        case _:
            return "other"
