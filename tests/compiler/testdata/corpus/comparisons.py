# Every comparison operator on ints, floats, strings, bytes and lists.
# run: main()
# expect: [True, False, True, True, False, True, True, True, False, True, True, True, True, False]
from deepslate import flow


@flow
async def main() -> list[bool]:
    a: int = 3
    b: int = 7
    s: str = "apple"
    t: str = "banana"
    xs: list[int] = [1, 2, 3]
    ys: list[int] = [1, 2, 4]
    return [
        a < b, a > b, a <= 3, b >= 7, a == b, a != b,
        1.5 < 2.5, s < t, s == t, s != t, "Z" < "a",
        xs < ys, b"abc" < b"abd", xs == ys,
    ]
