# JSON encodes every flow value and reads it back: ints of any size, NaN and the infinities
# (as "NaN", "Infinity", "-Infinity"), strs with lone surrogates, dataclasses.
# run: big_ints()
# expect: "b'[18446744073709551616,-1180591620717411303424,9223372036854775807]' [18446744073709551616, -1180591620717411303424, 9223372036854775807]"
# run: non_finite()
# expect: 'b\'["NaN","Infinity","-Infinity",-0.0]\' [nan, inf, -inf, -0.0]'
# run: any_str()
# expect: 'b\'["\\\\ud800","\\\\u00e9","\\\\ud83d\\\\ude00"]\' True'
# run: record()
# expect: 'b\'{"name":"s","value":"NaN","count":36893488147419103232}\' s nan 36893488147419103232'
from dataclasses import dataclass

from deepslate import DSError, flow, json_marshal, json_unmarshal


@dataclass
class Sample:
    name: str
    value: float
    count: int


@flow
async def big_ints() -> str:
    data: bytes | DSError = json_marshal([2 ** 64, -(2 ** 70), 9223372036854775807])
    if isinstance(data, DSError):
        return str(data)
    back: list[int] | DSError = json_unmarshal[list[int]](data)
    return str(data) + " " + str(back)


@flow
async def non_finite() -> str:
    data: bytes | DSError = json_marshal([float("nan"), float("inf"), -float("inf"), -0.0])
    if isinstance(data, DSError):
        return str(data)
    back: list[float] | DSError = json_unmarshal[list[float]](data)
    return str(data) + " " + str(back)


@flow
async def any_str() -> str:
    data: bytes | DSError = json_marshal(["\ud800", "é", "\U0001f600"])
    if isinstance(data, DSError):
        return str(data)
    back: list[str] | DSError = json_unmarshal[list[str]](data)
    if isinstance(back, DSError):
        return str(back)
    return str(data) + " " + str(back == ["\ud800", "é", "\U0001f600"])


@flow
async def record() -> str:
    data: bytes | DSError = json_marshal(Sample("s", float("nan"), 2 ** 65))
    if isinstance(data, DSError):
        return str(data)
    back: Sample | DSError = json_unmarshal[Sample](data)
    if isinstance(back, DSError):
        return str(back)
    return str(data) + " " + back.name + " " + str(back.value) + " " + str(back.count)
