# f-strings: plain fields, format specs, expressions inside fields, literal braces.
# run: main(name="ada", n=42, x=3.14159)
# expect: ['hi ada!', '42|  42|42  |0042|2a|101010', '3.14|3.1416|   3.1|3.142e+00|314.16%', '{ada}', 'n+1=43 len=3', '1,234,567', 'True False']
# run: table(n=3)
# expect: 'x=  1 sq=  1;x=  2 sq=  4;x=  3 sq=  9;'
from deepslate import flow


@flow
async def main(name: str, n: int, x: float) -> list[str]:
    a: str = f"hi {name}!"
    b: str = f"{n}|{n:4}|{n:<4}|{n:04d}|{n:x}|{n:b}"
    c: str = f"{x:.2f}|{x:.4f}|{x:6.1f}|{x:.3e}|{x:.2%}"
    d: str = f"{{{name}}}"
    e: str = f"n+1={n + 1} len={len(name)}"
    big: int = 1234567
    g: str = f"{big:,}"
    t: bool = n > 1
    h: str = f"{t} {not t}"
    return [a, b, c, d, e, g, h]


@flow
async def table(n: int) -> str:
    out: str = ""
    for i in range(1, n + 1):
        out = out + f"x={i:3} sq={i * i:3};"
    return out
