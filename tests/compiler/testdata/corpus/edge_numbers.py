# Number edges: the int64 boundary, floor division and modulo signs, powers, float specials,
# exact int/float comparison, and min/max of mixed numbers returning an argument as it is.
# run: boundary()
# expect: [9223372036854775808, -9223372036854775809, 9223372036854775808, 9223372036854775808, 18446744073709551614, 9223372036854775807, 9223372036854775808, 6]
# run: divmod_signs()
# expect: ['3 1 3.0 1.0', '-4 -1 -4.0 -1.0', '-4 1 -4.0 1.0', '3 -1 3.0 -1.0', '0.0', '-0.0']
# run: powers()
# expect: ['18446744073709551616', '-9223372036854775808', '1', '7', '1.4142135623730951', '64.0', '100', '1.0']
# run: specials()
# expect: ['nan', '-inf', 'inf', 'False', 'True', 'True', '-0.0', 'True', '5e-321', 'True']
# run: mixed_min_max()
# expect: ['1', '1.0', '0', '9223372036854775809', '10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000', 'True', 'False', '2', '7', '6.5']
# run: exact_compare()
# expect: [False, True, True, True, True, True]
from deepslate import flow


@flow
async def boundary() -> list[int]:
    top: int = 9223372036854775807
    bottom: int = -9223372036854775807 - 1
    return [top + 1, bottom - 1, -bottom, bottom // -1, top * 2, (top + 1) - 1, abs(bottom), bottom % 7]


@flow
async def divmod_signs() -> list[str]:
    out: list[str] = []
    for a in [7, -7]:
        for b in [2, -2]:
            out.append(f"{a // b} {a % b} {float(a) // float(b)} {float(a) % float(b)}")
    out.append(str(-0.0 % 5.0))
    out.append(str(5.0 % -0.5))
    return out


@flow
async def powers() -> list[str]:
    return [str(2 ** 64), str((-2) ** 63), str(0 ** 0), str(7 ** 1), str(2.0 ** 0.5),
            str(float(-8) ** 2.0), str(10 ** 30 // 10 ** 28), str(1.0 ** 1e300)]


@flow
async def specials() -> list[str]:
    inf: float = float("inf")
    nan: float = float("nan")
    big: float = 1e308
    return [str(inf - inf), str(-inf), str(big * 10.0), str(nan == nan), str(nan != nan),
            str(inf > 10 ** 400), str(-0.0), str(0.0 == -0.0), str(1e-320 / 2.0), str(-inf < 0 < inf)]


@flow
async def mixed_min_max() -> list[str]:
    n: int = 2 ** 63 + 1
    return [str(max(1, 1.0)), str(max(1.0, 1)), str(min(0, -0.0)), str(max(n, 2.0 ** 63)),
            str(max(10 ** 400, 1.0)), str(min(True, 2)), str(max(False, 0)), str(min(3, 2.5, 2)),
            str(int(max(7, 6.5))), str(float(min(7, 6.5)))]


@flow
async def exact_compare() -> list[bool]:
    n: int = 2 ** 53 + 1
    f: float = 2.0 ** 53
    return [n == f, n > f, n - 1 == f, 10 ** 400 > 1e308, -(10 ** 400) < -1e308, 2 ** 63 == 2.0 ** 63]
