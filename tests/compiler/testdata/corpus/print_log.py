# print goes to the isolate's log: several arguments joined by spaces, every value type.
# run: main(n=3)
# expect: 'done'
# log: start
# log: 0 zero True
# log: 1 one False
# log: 2 two False
# log: floats 0.5 -0.0 inf
# log: [1, 2] {'a': 1} b'x' None
# log: f-string 003
from deepslate import flow


@flow
async def main(n: int) -> str:
    print("start")
    names: list[str] = ["zero", "one", "two"]
    for i in range(n):
        print(i, names[i], i == 0)
    half: float = 0.5
    print("floats", half, -0.0, float("inf"))
    d: dict[str, int] = {"a": 1}
    print([1, 2], d, b"x", None)
    print(f"f-string {n:03d}")
    return "done"
