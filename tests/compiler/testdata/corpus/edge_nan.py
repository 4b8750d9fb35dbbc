# A NaN keeps its identity as in CPython: containers compare identity first, so a NaN object
# is "in" a list that holds it, while two NaNs computed apart are different objects.
# run: same_object()
# expect: [True, True, True, True, True, True, False, True]
# run: computed_apart()
# expect: [False, False, True, False, False, True]
# run: across_a_durable_point()
# expect: [True, True, True, True]
# run: through_calls()
# expect: [True, True]
from dataclasses import dataclass

from deepslate import flow, sleep


@dataclass
class Reading:
    value: float


@flow
async def same_object() -> list[bool]:
    nan: float = float("nan")
    xs: list[float] = [nan]
    y: float = xs[0]
    a: Reading = Reading(nan)
    b: Reading = Reading(nan)
    return [xs[0] in xs, [xs[0]] == xs, y in xs, nan in xs, [y] == xs, a == b, y == y, nan != nan]


@flow
async def computed_apart() -> list[bool]:
    inf: float = float("inf")
    a: float = inf - inf
    b: float = inf - inf
    c: float = -a
    d: float = a + 1.0
    return [[a] == [b], a in [b], [a] == [a], c in [a], d in [a], a in [a, b]]


@flow
async def across_a_durable_point() -> list[bool]:
    nan: float = float("nan")
    xs: list[float] = [nan, 1.0]
    y: float = xs[0]
    d: dict[str, float] = {"k": nan}
    sleep(0.0)
    return [y in xs, [y, 1.0] == xs, d["k"] in xs, nan in [d["k"]]]


@flow
async def keep(x: float) -> float:
    return x


@flow
async def through_calls() -> list[bool]:
    nan: float = float("nan")
    back: float = keep(nan)
    return [back in [nan], [keep(back)] == [nan]]
