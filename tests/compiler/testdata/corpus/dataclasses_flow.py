# Dataclasses: construction, field reads and writes, nesting, lists of them, returning one.
# run: main()
# expect: Segment(start=Point(x=0, y=0), end=Point(x=3, y=5), label='diag')
# run: lengths(n=4)
# expect: [0, 2, 4, 6]
# run: aliasing()
# expect: [10, 10, 1]
from dataclasses import dataclass

from deepslate import flow


@dataclass
class Point:
    x: int
    y: int


@dataclass
class Segment:
    start: Point
    end: Point
    label: str


@flow
async def main() -> Segment:
    a: Point = Point(0, 0)
    b: Point = Point(x=3, y=4)
    s: Segment = Segment(a, end=b, label="diag")
    s.end.y = s.end.y + 1
    return s


@flow
async def lengths(n: int) -> list[int]:
    pts: list[Point] = []
    for i in range(n):
        pts.append(Point(i, i))
    out: list[int] = []
    for p in pts:
        out.append(p.x + p.y)
    return out


@flow
async def aliasing() -> list[int]:
    p: Point = Point(1, 1)
    q: Point = p
    r: Point = Point(p.x, p.y)
    q.x = 10
    return [p.x, q.x, r.x]
