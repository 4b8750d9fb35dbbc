"""The typed API catches misuse: each snippet below is valid Python that mypy --strict must
reject at the marked line (``# E: fragment of the message``), and the well-typed program
beside them must pass. Before flows were typed, a decorated flow was Any to mypy and every
one of these passed."""
from __future__ import annotations

import pathlib
import re

from typecheck.mypy_run import errors, mypy

GOOD = '''
from dataclasses import dataclass

from deepslate import DSError, dpslio, flow, http_listen, http_request, impure, json_marshal, \\
    json_unmarshal, new_sqlite, now, random, sleep, spawn_workers, uuid4


@dataclass
class Ask:
    who: str


@impure(retries=2)
async def fetch(n: int) -> int | DSError:
    return n


@impure
def note(s: str) -> None:
    print(s)


@flow
async def child(q: dpslio.Queue[int], wg: dpslio.WaitGroup, n: int) -> None:
    await q.put(n)
    await wg.done()


@flow
async def tick() -> None:
    while True:
        sleep(1.0)


@flow
async def main(name: str, n: int) -> list[str]:
    out: list[str] = [name]
    q: dpslio.Queue[int] = dpslio.Queue[int](n)
    wg: dpslio.WaitGroup = dpslio.WaitGroup()
    mu: dpslio.Lock = dpslio.Lock()
    wg.add(1)
    dpslio.create_task(child(q, wg, n), detach=False)
    await wg.wait()
    await mu.acquire()
    got: int = await q.get()
    await mu.release()
    r: int | DSError = fetch(got)
    note(str(r))
    sleep(1.0)
    await sleep(0.5)
    b1: bytes = http_listen("POST", "/a")
    b2: bytes = await http_listen("POST", "/a")
    b3: bytes | DSError = await http_listen("POST", "/b", timeout=5)
    h: bytes | DSError = http_request("GET", "http://x", {}, b"", retries=1, timeout=2.0)
    j: bytes | DSError = await json_marshal([1])
    a: Ask | DSError = json_unmarshal[Ask](b1)
    t: float = now() + await random()
    u: str = await uuid4()
    match dpslio.select:
        case _ if v := await q.get():
            out.append(str(v + 1))
        case _ if body := await http_listen("POST", "/c"):
            out.append(str(len(body)))
        case _ if await sleep(t):
            pass
    out.append(f"{b2!r}{b3!r}{h!r}{j!r}{a!r}{u}")
    return out


async def run_async(engine_spawn: "SpawnAsync", engine_wait: "WaitAsync") -> list[str]:
    await main.spawn(engine_spawn, "b", "bob", 2)
    return await main.wait_async(engine_wait, "b")


from typing import Any, Awaitable, Protocol


class SpawnAsync(Protocol):
    def __call__(self, name: str, flow_name: str, args: dict[str, Any] | None = None) -> Awaitable[tuple[int, bool]]: ...


class WaitAsync(Protocol):
    def __call__(self, name: str, timeout: float | None = None) -> Awaitable[Any]: ...


platform, _ = new_sqlite("x.db")
spawn, wait, cancel, stop = spawn_workers(2, platform, [main, child, tick()])   # tick(): the README's form
id_, exists = main.spawn(spawn, "a", name="alice", n=1)
result: list[str] = main.wait(wait, "a", timeout=1.0)
spawn("c", "main", {"name": "carol", "n": 3})
'''

BAD = '''
from deepslate import DSError, dpslio, flow, http_listen, http_request, impure, new_sqlite, now, spawn_workers


@impure
def fetch(n: int) -> int | DSError:
    return n


@flow
async def child(n: int) -> str:
    return str(n)


@flow
async def main(name: str, n: int) -> int:
    s: int = child(n)  # E: Incompatible types in assignment
    child("x")  # E: Argument 1 to "__call__" of "Flow" has incompatible type "str"
    x: int = fetch(n)  # E: Incompatible types in assignment
    q: dpslio.Queue[int] = dpslio.Queue[int]()
    await q.put("x")  # E: Argument 1 to "put" of "Queue" has incompatible type "str"
    w: str = await q.get()  # E: Incompatible types in assignment
    http_listen("POST", "/a", 5)  # E: No overload variant of "http_listen" matches
    b: bytes = http_listen("POST", "/a", timeout=5)  # E: Incompatible types in assignment
    http_request("GET", "http://x", {}, b"", retry=3)  # E: Unexpected keyword argument "retry"
    http_request("GET", "http://x", {}, b"", retries=1.5)  # E: Argument "retries" to "http_request" has incompatible type "float"
    t: str = await now()  # E: Incompatible types in assignment
    dpslio.create_task(child(1), detach="no")  # E: Argument "detach" to "create_task" has incompatible type "str"
    return n


@flow  # E: Argument 1 to "flow" has incompatible type "Callable[[int], int]"
def not_async(n: int) -> int:
    return n


platform, _ = new_sqlite("x.db")
spawn, wait, cancel, stop = spawn_workers(2, platform, [main])
main.spawn(spawn, "a", name="alice")  # E: Missing positional argument "n" in call to "spawn" of "Flow"
main.spawn(spawn, "a", name="alice", n="1")  # E: Argument "n" to "spawn" of "Flow" has incompatible type "str"
main.spawn(spawn, "a", name="alice", n=1, extra=2)  # E: Unexpected keyword argument "extra"
r: str = main.wait(wait, "a")  # E: Incompatible types in assignment
'''

EXPECT = re.compile(r"#\s*E:\s*(.*)$")


def expected(src: str) -> dict[int, str]:
    return {n: m.group(1).strip() for n, line in enumerate(src.splitlines(), 1) if (m := EXPECT.search(line))}


def test_well_typed_program_passes(tmp_path: pathlib.Path, mypy_cache: pathlib.Path) -> None:
    (tmp_path / "good.py").write_text(GOOD)
    status, out = mypy(["good.py"], tmp_path, mypy_cache)
    assert status == 0 and not errors(out), out


def test_each_misuse_is_reported_at_its_line(tmp_path: pathlib.Path, mypy_cache: pathlib.Path) -> None:
    (tmp_path / "bad.py").write_text(BAD)
    _, out = mypy(["bad.py"], tmp_path, mypy_cache)
    got: dict[int, list[str]] = {}
    for _, line, msg in errors(out):
        got.setdefault(line, []).append(msg)
    want = expected(BAD)
    assert len(want) >= 15
    missed = {n: w for n, w in want.items() if not any(w in m for m in got.get(n, []))}
    unexpected = {n: m for n, m in got.items() if n not in want}
    assert not missed, f"mypy did not report:\n{missed}\nit said:\n{out}"
    assert not unexpected, f"mypy reported errors at unmarked lines:\n{unexpected}"
