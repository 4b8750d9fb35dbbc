# bytes operations: concatenation, repetition, len, equality, in, indexing to an int, iteration.
# run: main(b=b"abc")
# expect: [b'abcdef', b'abcabc', b'', b'abc']
# run: facts(b=b"abc")
# expect: [3, 97, 99, 294]
# run: checks(b=b"abc")
# expect: [True, False, True, False]
from deepslate import flow


@flow
async def main(b: bytes) -> list[bytes]:
    more: bytes = b + b"def"
    twice: bytes = b * 2
    empty: bytes = b""
    return [more, twice, empty, empty + b]


@flow
async def facts(b: bytes) -> list[int]:
    total: int = 0
    for x in b:
        total = total + x
    return [len(b), b[0], b[-1], total]


@flow
async def checks(b: bytes) -> list[bool]:
    return [b"bc" in b, b"cb" in b, b == b"abc", b != b"abc"]
