"""A stand-in for ``deepslate._vm`` with the same API, for scheduler tests that need
no compiler: programs are lists of tuples over named registers.

    ("eff", dst, kind, [arg...], extra, fn)   a durable operation; result into regs[dst]
    ("py", dst, fn, [arg...])                 regs[dst] = fn(*args)  (deterministic code)
    ("jz", arg, target) / ("jmp", target)     branches
    ("print", arg) / ("ret", arg) / ("fault", message)

An ``arg`` is a register name or ``("k", value)``. Snapshots and values are pickles.
"""
from __future__ import annotations

import hashlib
import pickle
from typing import Any

from deepslate.program.model import FAULT, RETURN, YIELD, EffectSpec, Fault


class Code:
    def __init__(self, name: str, params: tuple, insns: list[tuple]):
        self.name = name
        self.params = params
        self.insns = insns
        self.specs = {pc: EffectSpec(i[2], len(i[3]), tuple(i[4] or ()), i[5] if len(i) > 5 else None)
                      for pc, i in enumerate(insns) if i[0] == "eff"}


class Program:
    def __init__(self, codes: list[Code], entry: int = 0, tag: str = ""):
        self.codes = codes
        self.entry = entry
        self.hash = hashlib.sha256(repr([(c.name, c.insns) for c in codes]).encode() + tag.encode()).digest()


class Flow:
    def __init__(self, program: Program):
        self.program = program
        self.name = program.codes[program.entry].name


def _get(regs: dict, a: Any) -> Any:
    return a[1] if isinstance(a, tuple) else regs[a]


class VM:
    def __init__(self, program: Program, code_index: int, args: tuple):
        code = program.codes[code_index]
        self.program = program
        self.frames = [[code_index, 0, {p[0]: v for p, v in zip(code.params, args)}]]
        self.is_pending = False
        self.steps = 0
        self.log: list[str] = []

    @staticmethod
    def from_state(program: Program, state: tuple) -> "VM":
        vm = VM.__new__(VM)
        vm.program = program
        frames, vm.is_pending, vm.steps = state
        vm.frames = [list(f) for f in frames]
        vm.log = []
        return vm

    def export_state(self) -> tuple:
        return ([tuple(f) for f in self.frames], self.is_pending, self.steps)

    def pending(self):
        if not self.is_pending:
            return None
        ci, pc, regs = self.frames[-1]
        i = self.program.codes[ci].insns[pc]
        return self.program.codes[ci].specs[pc], tuple(_get(regs, a) for a in i[3])

    def resume(self, value: Any) -> None:
        assert self.is_pending
        f = self.frames[-1]
        i = self.program.codes[f[0]].insns[f[1]]
        if i[1] is not None:
            f[2][i[1]] = value
        f[1] += 1
        self.is_pending = False

    def take_log(self) -> list[str]:
        out, self.log = self.log, []
        return out

    def frames_view(self) -> list[dict]:
        return [{"function": self.program.codes[ci].name, "filename": "fake.py", "line": pc + 1, "col": 1,
                 "locals": dict(regs)} for ci, pc, regs in self.frames]

    def run(self, budget: int = 100000):
        assert not self.is_pending
        f = self.frames[-1]
        code = self.program.codes[f[0]]
        regs = f[2]
        for _ in range(budget):
            i = code.insns[f[1]]
            self.steps += 1
            op = i[0]
            if op == "eff":
                self.is_pending = True
                return code.specs[f[1]], tuple(_get(regs, a) for a in i[3])
            if op == "py":
                try:
                    regs[i[1]] = i[2](*[_get(regs, a) for a in i[3]])
                except Exception as e:
                    return FAULT, (Fault(f"{type(e).__name__}: {e}", type(e).__name__,
                                         [(code.name, "fake.py", f[1] + 1, 1)]),)
                f[1] += 1
            elif op == "jz":
                f[1] = i[2] if not _get(regs, i[1]) else f[1] + 1
            elif op == "jmp":
                f[1] = i[1]
            elif op == "print":
                self.log.append(str(_get(regs, i[1])))
                f[1] += 1
            elif op == "ret":
                return RETURN, (_get(regs, i[1]),)
            elif op == "fault":
                return FAULT, (Fault(i[1], "RuntimeError", [(code.name, "fake.py", f[1] + 1, 1)]),)
        return YIELD, ()


MAGIC = b"FAKE"


def encode_snapshot(program_hash: bytes, state: tuple) -> bytes:
    return MAGIC + pickle.dumps((program_hash, state))


def decode_snapshot(data: bytes, program: Program) -> tuple:
    if not data.startswith(MAGIC):
        raise ValueError("not a snapshot (bad magic)")
    h, state = pickle.loads(data[len(MAGIC):])
    if h != program.hash:
        raise ValueError("snapshot of another program")
    return state


def encode_value(v: Any) -> bytes:
    return pickle.dumps(v)


def decode_value(data: bytes, program: Any = None) -> Any:
    return pickle.loads(data)


class Serial:
    """Stands in for engine.PROGRAM_CODEC: programs kept in a registry by hash."""
    registry: dict[bytes, Program] = {}

    @classmethod
    def program_to_bytes(cls, p: Program) -> bytes:
        cls.registry[p.hash] = p
        return p.hash

    @classmethod
    def program_from_bytes(cls, b: bytes) -> Program:
        return cls.registry[b]

    @staticmethod
    def link(p: Program) -> Program:
        return p
