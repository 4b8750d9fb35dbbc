"""Disassembler: ``Instruction`` records and a fixed-column text form.

Columns: source line (only where it changes), ``>>`` on jump targets with the
target's label, the pc, the opcode name, the operands (registers as ``O3``,
``I1``, ``F0``; jump targets as labels ``L1`` so unrelated edits do not churn
golden files), and the constant or effect in parentheses.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._opcodes import CONST_OPERAND, IMM_OPERAND, JUMP_OPERAND, OPERANDS, REGISTER_FILES, Op
from .model import CallTarget, Code, EffectSpec, Program, TypeTest


@dataclass(frozen=True)
class Instruction:
    opname: str
    args: tuple[int, ...]  # raw operand words (as many as the opcode reads)
    argrepr: str          # the operands as text (O3 I1 L2 ...) and the constant in parentheses
    offset: int           # the pc
    line: int
    col: int
    is_jump_target: bool
    label: str = ""       # "L1" if a jump lands here


def _const_repr(k: Any, program: Program | None) -> str:
    if isinstance(k, CallTarget):
        extra = f" [{k.type}]" if k.type is not None else ""
        return f"{k.kind} {k.ref}/{k.nargs}{extra}"
    if isinstance(k, EffectSpec):
        extra = ""
        if k.kind == "create_task" and k.extra:
            extra = " " + _flow_name(k.extra[0], program) + (" detach" if k.extra[1:] == (True,) else "")
        elif k.kind == "impure":
            extra = f" {k.extra[0]}"
        elif k.extra:
            extra = " " + " ".join(str(x) for x in k.extra)
        return f"{k.kind}/{k.nargs}{extra}"
    if isinstance(k, TypeTest):
        return f"isinstance {k.type}"
    return repr(k)


def _flow_name(k: Any, program: Program | None) -> str:
    if isinstance(k, int) and program is not None and 0 <= k < len(program.codes):
        return program.codes[k].name
    return repr(k)


def instructions(code: Code, program: Program | None = None) -> list[Instruction]:
    words = code.insns
    n = len(words) // 4
    targets: dict[int, str] = {}
    for pc in range(n):
        op = Op(words[4 * pc])
        if op in JUMP_OPERAND:
            targets.setdefault(words[4 * pc + 1 + JUMP_OPERAND[op]], "")
    for i, t in enumerate(sorted(targets)):
        targets[t] = f"L{i + 1}"
    out = []
    for pc in range(n):
        op = Op(words[4 * pc])
        args = tuple(words[4 * pc + 1: 4 * pc + 1 + OPERANDS[op]])
        parts, note = [], ""
        for k, x in enumerate(args):
            f = REGISTER_FILES[op][k]
            if f in "OIF":
                parts.append(f"{f}{x}")
            elif JUMP_OPERAND.get(op) == k:
                parts.append(targets.get(x, f"@{x}"))
            elif IMM_OPERAND.get(op) == k:
                parts.append(str(x))
            elif CONST_OPERAND.get(op) == k:
                parts.append(f"k{x}")
                kv = code.consts[x] if 0 <= x < len(code.consts) else "?"
                note = _flow_name(kv, program) if op == Op.CALLFLOW else _const_repr(kv, program)
            else:
                parts.append(str(x))
        text = " ".join(parts) + (f" ({note})" if note else "")
        line, col = code.position(pc)
        out.append(Instruction(op.name, args, text, pc, line, col, pc in targets, targets.get(pc, "")))
    return out


def format_code(code: Code, program: Program | None = None, source: bool = False) -> str:
    lines = [f"flow {code.name}({', '.join(f'{n}: {t}' for n, t in code.params)}) -> {code.returns}"
             f"  [O={code.n_o} I={code.n_i} F={code.n_f}]"]
    src_lines = code.source.splitlines() if source else []
    last = None
    for ins in instructions(code, program):
        shown = ""
        if ins.line != last:
            shown = str(ins.line)
            if source:
                idx = ins.line - code.firstlineno
                if 0 <= idx < len(src_lines):
                    lines.append(f"       # {src_lines[idx].strip()}")
            last = ins.line
        mark = ">>" if ins.is_jump_target else "  "
        lines.append(f"{shown:>5} {mark} {ins.label:<4}{ins.offset:>4}  {ins.opname:<12}{ins.argrepr}".rstrip())
    return "\n".join(lines) + "\n"


def dis(obj: Any, source: bool = False) -> str:
    """The disassembly of a Flow (with every flow of its program), a Program or a Code."""
    # a Flow is known by its program: this layer does not import the compiler
    target = obj if isinstance(obj, (Program, Code)) else getattr(obj, "program", None)
    if isinstance(target, Program):
        return "\n".join(format_code(c, target, source) for c in target.codes)
    if isinstance(target, Code):
        return format_code(target, None, source)
    raise TypeError(f"dis() takes a Flow, a Program or a Code, not {type(obj).__name__}")


def oneline(code: Code) -> str:
    """``LOADI I0 1; IADD I1 I0 I0; ...`` for small codegen asserts (no constants shown)."""
    return "; ".join(f"{i.opname} {i.argrepr.split(' (')[0]}".strip() for i in instructions(code))
