"""A tiny assembler for hand-written VM test programs.

One instruction per line, ``OPNAME operand ...``; ``label:`` on a line of its
own names the next instruction; ``;`` starts a comment. Operands:

  O3 I0 F2     registers (the file letter must match _opcodes.REGISTER_FILES)
  =1.5 ='x'    a constant, any Python literal (interned into Code.consts)
  $name        a named constant passed in ``consts={'name': ...}`` (CallTarget ...)
  @label       a jump target
  7 -3         an immediate, a count, or a raw number for odd tests

Register counts are the highest register used plus one per file unless given.
An instruction's position is (its line in the text + firstlineno - 1, the
1-based column of its opcode), so faults point into the assembly text.
``.local NAME FILE REG [@start @end]`` declares a LocalVar (default: whole code).
"""
from __future__ import annotations

import ast
import re
from array import array

from deepslate._opcodes import Op, REGISTER_FILES
from deepslate.program.model import Code, LocalVar, Program
from deepslate._types import BOOL, FLOAT, INT, Prim

_TOKEN = re.compile(r"""=(?:'[^']*'|"[^"]*"|\S+)|\S+""")
_TYPES = {"I": INT, "F": FLOAT, "O": Prim("str")}


class AsmError(ValueError):
    pass


def assemble(text: str, *, name: str = "f", params: tuple = (), consts: dict | None = None,
             n_o: int | None = None, n_i: int | None = None, n_f: int | None = None,
             filename: str = "test.asm", firstlineno: int = 1) -> Code:
    consts = consts or {}
    pool: list = []

    def intern(value) -> int:
        for i, k in enumerate(pool):
            if k is value or (type(k) is type(value) and k == value and repr(k) == repr(value)):
                return i
        pool.append(value)
        return len(pool) - 1

    lines = []            # (lineno, col, opname, operand strings)
    labels: dict[str, int] = {}
    local_decls = []
    for lineno, raw in enumerate(text.splitlines(), start=firstlineno):
        body = raw.split(";", 1)[0].rstrip()
        if not body.strip():
            continue
        col = len(body) - len(body.lstrip()) + 1
        words = _TOKEN.findall(body)
        if len(words) == 1 and words[0].endswith(":"):
            labels[words[0][:-1]] = len(lines)
            continue
        if words[0] == ".local":
            local_decls.append((lineno, words[1:]))
            continue
        lines.append((lineno, col, words[0], words[1:]))

    words_out = array("i")
    positions = array("i")
    highest = {"O": -1, "I": -1, "F": -1}
    for pc, (lineno, col, opname, operands) in enumerate(lines):
        if opname.isdigit():
            op_value, files = int(opname), "---"
        else:
            try:
                op = Op[opname]
            except KeyError:
                raise AsmError(f"line {lineno}: unknown opcode {opname}") from None
            op_value, files = int(op), REGISTER_FILES[op]
        if len(operands) > 3:
            raise AsmError(f"line {lineno}: at most 3 operands, got {len(operands)}")
        vals = []
        for j, tok in enumerate(operands):
            want = files[j] if j < len(files) else "-"
            if tok[0] in "OIF" and tok[1:].isdigit():
                if want != tok[0]:
                    raise AsmError(f"line {lineno}: {opname} operand {j} is {want}, got {tok}")
                reg = int(tok[1:])
                highest[tok[0]] = max(highest[tok[0]], reg)
                vals.append(reg)
            elif tok.startswith("="):
                vals.append(intern(ast.literal_eval(tok[1:])))
            elif tok.startswith("$"):
                vals.append(intern(consts[tok[1:]]))
            elif tok.startswith("@"):
                if tok[1:] not in labels:
                    raise AsmError(f"line {lineno}: unknown label {tok}")
                vals.append(labels[tok[1:]])
            else:
                vals.append(int(tok))
        vals += [0] * (3 - len(vals))
        words_out.extend([op_value, *vals])
        positions.extend([lineno, col])

    locals_ = []
    for lineno, (lname, lfile_reg, *rng) in local_decls:
        lfile, reg = lfile_reg[0], int(lfile_reg[1:])
        start = labels[rng[0][1:]] if rng else 0
        end = labels[rng[1][1:]] if len(rng) > 1 else len(lines)
        ltype = BOOL if lname.startswith("is_") and lfile == "I" else _TYPES[lfile]
        locals_.append(LocalVar(lname, lfile, reg, ltype, start, end))

    def count(letter, given):
        return highest[letter] + 1 if given is None else given

    n_params = len(params)
    return Code(
        name=name, ref=f"test:{name}", filename=filename, firstlineno=firstlineno, source=text,
        params=tuple(params), returns=None, insns=words_out, positions=positions,
        consts=tuple(pool), n_o=max(count("O", n_o), n_params), n_i=count("I", n_i),
        n_f=count("F", n_f), locals=tuple(locals_),
    )


def program(*codes: Code, entry: int = 0) -> Program:
    return Program(codes=list(codes), entry=entry)


def params(*names: str) -> tuple:
    """Parameters for ``assemble``: only their count matters to the VM."""
    return tuple((n, Prim("int")) for n in names)


def run_to_end(vm, answer=None, budget: int = 1_000_000, limit: int = 10_000):
    """Drive ``vm`` until it returns or faults, answering effects with ``answer(spec, args)``."""
    from deepslate.program.model import FAULT, RETURN, YIELD
    for _ in range(limit):
        spec, args = vm.run(budget)
        if spec is RETURN or spec is FAULT:
            return spec, args
        if spec is YIELD:
            continue
        vm.resume(answer(spec, args) if answer else None)
    raise AssertionError("flow did not finish")

