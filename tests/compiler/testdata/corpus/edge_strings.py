# Any Python str lives in a flow: lone surrogates and astral characters through literals,
# indexing, concatenation, comparison, printing, a durable point and the result.
# run: surrogates()
# expect: ['\ud800', 'a\udcffb', '\udcff', '\ud800a\udcffb', '3', 'False', 'True', '<\ud800>']
# run: astral()
# expect: ['x😀y', '😀', '3', 'True', 'x😀yx😀y', 'True']
# run: formatting()
# expect: ['1e+16', '0.30000000000000004', '1e-07', '123456789.0', '0', '-0.0', 'True-None', '[1.5, -0.0]', "{'a': 1.0}", '0.0']
from deepslate import flow, sleep


@flow
async def surrogates() -> list[str]:
    s: str = "\ud800"
    t: str = "a\udcffb"
    print("[lone]", s, "|", t)
    sleep(0.0)
    return [s, t, t[1], s + t, str(len(t)), str(s < t), str("\udcff" in t), f"<{s}>"]


@flow
async def astral() -> list[str]:
    s: str = "x\U0001f600y"
    return [s, s[1], str(len(s)), str(s[1] > "\uffff"), s * 2, str(s == "x" + "\U0001f600" + "y")]


@flow
async def formatting() -> list[str]:
    x: float = 1e16
    y: float = 0.1 + 0.2
    n: int = -0
    return [f"{x}", f"{y}", str(1e-7), str(123456789.0), f"{n}", str(-0.0), f"{True}-{None}", f"{[1.5, -0.0]}",
            f"{ {'a': 1.0} }", str(2.5e-300 * 1e-300)]
