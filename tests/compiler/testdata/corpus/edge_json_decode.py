# json_unmarshal of hand-written JSON: integers past 64 bits stay exact ints (and only ints make
# an int), numbers past a double's range, the "NaN"/"Infinity" strings and escaped surrogates.
# run: ints(data=b'[18446744073709551616, -9223372036854775809, 123456789012345678901234567890]')
# expect: '[18446744073709551616, -9223372036854775809, 123456789012345678901234567890] 123456789021569050938089343698'
# run: ints(data=b'[1, 1e3]')
# expect: 'json: json_unmarshal: $[1]: expected int, got float'
# run: ints(data=b'[true]')
# expect: 'json: json_unmarshal: $[0]: expected int, got bool'
# run: floats(data=b'[1e400, -1e400, "NaN", "-Infinity", 12345678901234567890123, -0.0]')
# expect: '[inf, -inf, nan, -inf, 1.2345678901234568e+22, -0.0] b\'["Infinity","-Infinity","NaN","-Infinity",1.2345678901234568e+22,-0.0]\''
# run: floats(data=b'[NaN]')
# expect: 'refused: json'
# run: texts(data=b'["\\ud800", "\\ud83d\\ude00", "\\udcff\\u00e9"]')
# expect: ['1 \ud800', '1 😀', '2 \udcffé']
from deepslate import DSError, flow, json_marshal, json_unmarshal


@flow
async def ints(data: bytes) -> str:
    got: list[int] | DSError = json_unmarshal[list[int]](data)
    if isinstance(got, DSError):
        return got.kind + ": " + got.message
    total: int = 0
    for n in got:
        total += n
    return str(got) + " " + str(total + 1)


@flow
async def floats(data: bytes) -> str:
    got: list[float] | DSError = json_unmarshal[list[float]](data)
    if isinstance(got, DSError):
        return "refused: " + got.kind     # the parser's own words may change
    again: bytes | DSError = json_marshal(got)
    return str(got) + " " + str(again)


@flow
async def texts(data: bytes) -> list[str]:
    got: list[str] | DSError = json_unmarshal[list[str]](data)
    if isinstance(got, DSError):
        return [got.message]
    out: list[str] = []
    for s in got:
        out.append(str(len(s)) + " " + s)
    return out
