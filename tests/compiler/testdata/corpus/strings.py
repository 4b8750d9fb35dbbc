# str operations: concatenation, repetition, indexing (negative too), len, in, iteration, conversions.
# run: main(s="hello", n=3)
# expect: ['hello world', 'hohoho', 'h', 'o', '5', 'olleh', 'h-e-l-l-o', '3hello']
# run: main(s="", n=0)
# expect fault: IndexError @first
# run: contains(s="hello")
# expect: [True, False, True, True]
# run: count_vowels(s="Durable execution engine")
# expect: 11
from deepslate import flow


@flow
async def main(s: str, n: int) -> list[str]:
    joined: str = s + " world"
    rep: str = "ho" * n
    first: str = s[0]  #@first
    last: str = s[-1]
    rev: str = ""
    dashed: str = ""
    for ch in s:
        rev = ch + rev
        if dashed == "":
            dashed = ch
        else:
            dashed = dashed + "-" + ch
    return [joined, rep, first, last, str(len(s)), rev, dashed, str(n) + s]


@flow
async def contains(s: str) -> list[bool]:
    return ["ell" in s, "xyz" in s, "" in s, s in s + s]


@flow
async def count_vowels(s: str) -> int:
    count: int = 0
    for ch in s:
        if ch in "aeiouAEIOU":
            count = count + 1
    return count
