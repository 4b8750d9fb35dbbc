# Ints meeting floats at 2**53 and 2**63 and far beyond: int/int true division is correctly
# rounded (not a division of two rounded floats), float(n) rounds half to even, conversions
# and mixed arithmetic overflow where CPython's do.
# run: division(a=9007199254740993, b=2)
# expect: ['4503599627370496.0', '-4503599627370496.0', '4503599627370496', '4.503599627370496e-15', '1.0']
# run: huge_division(e=400)
# expect fault: OverflowError @truediv
# run: huge_division(e=300)
# expect: ['3.3333333333333335e+299', '3333333333.3333335', '1024.0']
# run: rounding()
# expect: ['9007199254740992.0', '9007199254740994.0', '9007199254740996.0', '9007199254740996.0', '9.223372036854776e+18 0', '9223372036854775808 -9223372036854775808 100000000000000000000', 'False True']
# run: mixed(n=9223372036854775807)
# expect: ['9.223372036854776e+18', '0.0', '4.611686018427388e+18', '6.148914691236517e+18', '8.0', 'True', 'True', '9223372036854775807', '9223372036854775808', '9.223372036854776e+18']
# run: mixed(n=-9223372036854775808)
# expect: ['-9.223372036854776e+18', '-1.8446744073709552e+19', '-4.611686018427388e+18', '-6.148914691236517e+18', '2.0', 'True', 'False', '-9223372036854775808', '9.223372036854776e+18', '9.223372036854776e+18']
# run: to_float(e=1024)
# expect fault: OverflowError @tofloat
# run: to_float(e=1023)
# expect: '8.98846567431158e+307'
# run: times_float(e=1100)
# expect fault: OverflowError @timesfloat
# run: nan_to_int()
# expect fault: ValueError @nantoint
# run: conditional_exact(n=9007199254740993, flag=True)
# expect: [False, True, True, False]
# run: conditional_huge(e=400, flag=True)
# expect: [True, False, True]
from deepslate import flow


@flow
async def division(a: int, b: int) -> list[str]:
    return [str(a / b), str(-a / b), str(a // b), str(a / (b * 10 ** 30)), str(a / a)]


@flow
async def huge_division(e: int) -> list[str]:
    a: int = 10 ** e
    q: float = a / 3  #@truediv
    return [str(q), str(a / (3 * 10 ** (e - 10))), str(2 ** 2000 / 2 ** 1990)]


@flow
async def rounding() -> list[str]:
    top: int = 2 ** 53
    out: list[str] = []
    for k in [1, 2, 3, 5]:
        out.append(str(float(top + k)))
    out.append(str(float(2 ** 63 - 1)) + " " + str(int(float(2 ** 63 - 1)) - 2 ** 63))
    out.append(str(int(2.0 ** 63)) + " " + str(int(-(2.0 ** 63))) + " " + str(int(1e20)))
    out.append(str(2 ** 53 + 1 == float(2 ** 53 + 1)) + " " + str(2 ** 53 + 1 > 2.0 ** 53))
    return out


@flow
async def mixed(n: int) -> list[str]:
    f: float = 2.0 ** 63
    return [str(n + 1.0), str(n - f), str(n * 0.5), str(n // 1.5), str(n % 10.0), str(n <= f), str(n + 1 == f),
            str(min(n, f)), str(max(n + 1, f)), str(max(f, n + 1))]


@flow
async def to_float(e: int) -> str:
    x: float = float(2 ** e)  #@tofloat
    return str(x)


@flow
async def times_float(e: int) -> str:
    x: float = 2 ** e * 1.5  #@timesfloat
    return str(x)


@flow
async def nan_to_int() -> int:
    x: float = float("nan")
    return int(x)  #@nantoint


@flow
async def conditional_exact(n: int, flag: bool) -> list[bool]:
    # an int-valued conditional expression compares with a float exactly, like any other int
    f: float = 9007199254740992.0
    return [f == (n if flag else 0), f < (n if flag else 0), f != (n if flag else 0), (n if flag else 0) == f]


@flow
async def conditional_huge(e: int, flag: bool) -> list[bool]:
    big: int = 10 ** e
    f: float = -0.0
    return [f < (big if flag else 1), f == (big if flag else 1), (big if flag else 1) > f]
