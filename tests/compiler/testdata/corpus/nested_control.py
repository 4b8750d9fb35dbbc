# Control flow nested every way: match inside loops with break/continue, returns from inside match,
# loops inside match arms, while inside for.
# run: commands(cmds=["add 5", "skip", "add 2", "double", "stop", "add 100"])
# expect: 14
# run: commands(cmds=["add 1", "fail", "add 2"])
# expect: -1
# run: grid(n=4)
# expect: [0, 2, 6, 12, 12, 10, 6]
from deepslate import flow, pure


@pure
def split_cmd(c: str) -> list[str]:
    return (c.split(" ", 1) + [""])[:2]


@flow
async def commands(cmds: list[str]) -> int:
    acc: int = 0
    for c in cmds:
        parts: list[str] = split_cmd(c)
        match parts[0]:
            case "add":
                acc = acc + int(parts[1])
            case "double":
                acc = acc * 2
            case "skip":
                continue
            case "stop":
                break
            case _:
                return -1
    return acc


@flow
async def grid(n: int) -> list[int]:
    out: list[int] = []
    for d in range(2 * n - 1):
        s: int = 0
        r: int = 0
        while r < n:
            c: int = d - r
            match c >= 0 and c < n:
                case True:
                    s = s + r + c
            r = r + 1
        out.append(s)
    return out
