# Building strings in loops, joining with separators, padding by hand, str comparisons in a sort.
# run: csv(rows=[["a", "b"], ["c", "d", "e"]])
# expect: 'a,b\nc,d,e\n'
# run: pad(words=["x", "yyy", "zz"])
# expect: ['x..', 'yyy', 'zz.']
# run: caesar(s="Hello, World", k=3)
# expect: 'Khoor, Zruog'
from deepslate import flow


@flow
async def csv(rows: list[list[str]]) -> str:
    out: str = ""
    for row in rows:
        line: str = ""
        for i, cell in enumerate(row):
            if i > 0:
                line = line + ","
            line = line + cell
        out = out + line + "\n"
    return out


@flow
async def pad(words: list[str]) -> list[str]:
    width: int = 0
    for w in words:
        width = max(width, len(w))
    out: list[str] = []
    for w in words:
        p: str = w + "." * (width - len(w))
        out.append(p)
    return out


@flow
async def caesar(s: str, k: int) -> str:
    lower: str = "abcdefghijklmnopqrstuvwxyz"
    upper: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out: str = ""
    for ch in s:
        done: bool = False
        for i, c in enumerate(lower):
            if c == ch:
                out = out + lower[(i + k) % 26]
                done = True
                break
        if not done:
            for i, c in enumerate(upper):
                if c == ch:
                    out = out + upper[(i + k) % 26]
                    done = True
                    break
        if not done:
            out = out + ch
    return out
