# Float edge cases: overflow to inf, nan arithmetic and comparisons, signed zero, conversions.
# run: main()
# expect: [inf, -inf, nan, -0.0, 0.0, 5e-324, 1.7976931348623157e+308]
# run: compare()
# expect: [False, True, False, True, True, False]
# run: conv()
# expect: ['inf', 'nan', '-0.0', '1e+16', '0.1', 'inf']
from deepslate import flow


@flow
async def main() -> list[float]:
    big: float = 1e308
    inf: float = big * 10.0
    ninf: float = -inf
    nan: float = inf - inf
    nz: float = -0.0
    z: float = nz + 0.0
    tiny: float = 5e-324
    return [inf, ninf, nan, nz * 1.0, z, tiny, big * 1.7976931348623157]


@flow
async def compare() -> list[bool]:
    nan: float = float("nan")
    inf: float = float("inf")
    nz: float = -0.0
    return [nan == nan, nan != nan, nan < 1.0, inf > 1e308, nz == 0.0, inf < inf]


@flow
async def conv() -> list[str]:
    inf: float = float("inf")
    nan: float = inf * 0.0
    return [str(inf), str(nan), str(-0.0), str(1e16), str(0.1), str(float("1e400"))]
