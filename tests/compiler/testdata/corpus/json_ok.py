# json_marshal and json_unmarshal[T] on the success path: lists, dicts, nested dataclasses, round trips.
# run: marshal()
# expect: [b'[1,2,3]', b'{"a":[],"b":[true,false]}', b'{"name":"ada","tags":["x"],"at":{"x":1,"y":2}}', b'"h\xc3\xa9"']
# run: unmarshal(data=b'[1, 2, 3, 40]')
# expect: 46
# run: record(data=b'{"name": "bo", "tags": ["a", "b"], "at": {"x": 3, "y": 4}}')
# expect: 'bo a,b 7'
# run: roundtrip()
# expect: {'k': [1.5, 2.0], 'j': []}
from dataclasses import dataclass

from deepslate import DSError, flow, json_marshal, json_unmarshal


@dataclass
class At:
    x: int
    y: int


@dataclass
class Person:
    name: str
    tags: list[str]
    at: At


@flow
async def marshal() -> list[bytes]:
    out: list[bytes] = []
    a: bytes | DSError = json_marshal([1, 2, 3])
    if isinstance(a, bytes):
        out.append(a)
    flags: dict[str, list[bool]] = {"a": [], "b": [True, False]}
    b: bytes | DSError = json_marshal(flags)
    if isinstance(b, bytes):
        out.append(b)
    c: bytes | DSError = json_marshal(Person("ada", ["x"], At(1, 2)))
    if isinstance(c, bytes):
        out.append(c)
    d: bytes | DSError = json_marshal("h\u00e9")
    if not isinstance(d, bytes):
        return out
    out.append(d)
    return out


@flow
async def unmarshal(data: bytes) -> int:
    nums: list[int] | DSError = json_unmarshal[list[int]](data)
    if isinstance(nums, DSError):
        return -1
    total: int = 0
    for n in nums:
        total = total + n
    return total


@flow
async def record(data: bytes) -> str:
    p: Person | DSError = json_unmarshal[Person](data)
    if not isinstance(p, Person):
        return "bad"
    tags: str = ""
    for t in p.tags:
        if tags:
            tags = tags + ","
        tags = tags + t
    return p.name + " " + tags + " " + str(p.at.x + p.at.y)


@flow
async def roundtrip() -> dict[str, list[float]]:
    d: dict[str, list[float]] = {"k": [1.5, 2.0], "j": []}
    raw: bytes | DSError = json_marshal(d)
    if isinstance(raw, DSError):
        return {}
    back: dict[str, list[float]] | DSError = json_unmarshal[dict[str, list[float]]](raw)
    if isinstance(back, DSError):
        return {}
    return back
