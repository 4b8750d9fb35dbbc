# Dicts: literals, lookup, store, in, len, iteration over keys in insertion order, nesting, int keys.
# run: main()
# expect: {'a': 1, 'b': 20, 'c': 3}
# run: stats(words=["to", "be", "or", "not", "to", "be"])
# expect: {'to': 2, 'be': 2, 'or': 1, 'not': 1}
# run: keys()
# expect: ['x', 'y', 'z', '3', 'True']
# run: nested()
# expect: {1: {'name': 'one', 'roman': 'I'}, 2: {'name': 'two', 'roman': 'II'}}
# run: missing(k="q")
# expect fault: KeyError @missing
# run: missing(k="a")
# expect: 1
from deepslate import flow


@flow
async def main() -> dict[str, int]:
    d: dict[str, int] = {"a": 1, "b": 2}
    d["c"] = 3
    d["b"] = d["b"] * 10
    return d


@flow
async def stats(words: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for w in words:
        if w in counts:
            counts[w] = counts[w] + 1
        else:
            counts[w] = 1
    return counts


@flow
async def keys() -> list[str]:
    d: dict[str, bool] = {"x": True, "y": False}
    d["z"] = True
    out: list[str] = []
    for k in d:
        out.append(k)
    out.append(str(len(d)))
    out.append(str("y" in d))
    return out


@flow
async def nested() -> dict[int, dict[str, str]]:
    d: dict[int, dict[str, str]] = {1: {"name": "one"}}
    d[2] = {"name": "two"}
    d[1]["roman"] = "I"
    d[2]["roman"] = "II"
    return d


@flow
async def missing(k: str) -> int:
    d: dict[str, int] = {"a": 1}
    return d[k]  #@missing
