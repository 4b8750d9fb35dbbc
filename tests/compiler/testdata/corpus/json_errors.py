# json_unmarshal[T] error paths: malformed JSON, wrong element type, missing field; each is a DSError value.
# run: decode(data=b'[1, 2')
# expect: 'error'
# run: decode(data=b'[1, "two", 3]')
# expect: 'json_unmarshal: $[1]: expected int, got str'
# run: decode(data=b'{"a": 1}')
# expect: 'json_unmarshal: $: expected list[int], got object'
# run: decode(data=b'[]')
# expect: 'ok 0'
# run: field(data=b'{"x": 1}')
# expect: 'json_unmarshal: $.y: missing field of Pair'
# run: field(data=b'{"x": 1, "y": 2}')
# expect: 'ok 3'
from dataclasses import dataclass

from deepslate import DSError, flow, json_unmarshal


@dataclass
class Pair:
    x: int
    y: int


@flow
async def decode(data: bytes) -> str:
    nums: list[int] | DSError = json_unmarshal[list[int]](data)
    if isinstance(nums, DSError):
        msg: str = str(nums)
        if "$" in msg:
            return msg
        return "error"
    return "ok " + str(len(nums))


@flow
async def field(data: bytes) -> str:
    p: Pair | DSError = json_unmarshal[Pair](data)
    if isinstance(p, DSError):
        return str(p)
    return "ok " + str(p.x + p.y)
