# A NaN's identity along more paths: a for loop's variable, copies and repeats of a list, dict
# values, a @pure function's argument, a JSON round trip (new objects), and min/max, whose
# answer with a NaN depends on the argument order.
# run: paths()
# expect: [True, True, True, True, True, False, False, True]
# run: order_matters()
# expect: ['1.0', 'nan', 'nan', '1.0', '1.0', 'nan', 'False', 'False']
from deepslate import DSError, flow, json_marshal, json_unmarshal, pure


@pure
def holds(x: float, xs: list[float]) -> bool:
    return x in xs


@flow
async def paths() -> list[bool]:
    nan: float = float("nan")
    xs: list[float] = [1.0, nan]
    found: bool = False
    for x in xs:
        found = x in xs and [x] == [x]
    ys: list[float] = xs + []
    zs: list[float] = xs * 2
    d: dict[str, float] = {"k": nan}
    vals: list[float] = d.values()
    back: list[float] = []
    data: bytes | DSError = json_marshal(xs)
    if isinstance(data, bytes):
        got: list[float] | DSError = json_unmarshal[list[float]](data)
        if isinstance(got, list):
            back = got
    return [found, xs == ys, zs[3] in xs, nan in vals, holds(nan, xs), holds(xs[1], [float("nan")]),
            back == xs, len(back) == 2]


@flow
async def order_matters() -> list[str]:
    nan: float = float("nan")
    one: float = 1.0
    return [str(max(one, nan)), str(max(nan, one)), str(min(nan, one)), str(min(one, nan)),
            str(max([one, nan])), str(max([nan, one])), str(nan < one), str(nan >= one)]
