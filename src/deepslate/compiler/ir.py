"""The compiler's small vocabulary: values, labels, variables, flow-sensitive
state, and the tables that map Python operators and statements to opcodes or
to the error a flow gets for them."""
from __future__ import annotations

import ast

from .._opcodes import Op
from .._types import BOOL, FLOAT, INT, Type, UnionT, union

CBASE = 1 << 24          # placeholder numbers of constant registers until finish()
INT32 = (-(1 << 31), (1 << 31) - 1)

UNSUPPORTED_STMT = {
    ast.Try: "exceptions are not supported in flows; return a DSError and narrow it with isinstance",
    ast.Raise: "raise is not supported in flows; return a DSError value instead",
    ast.With: "with statements are not supported in flows; use dpslio.Lock or a @pure/@impure function",
    ast.AsyncWith: "async with is not supported in flows; use dpslio.Lock with acquire and release",
    ast.Import: "imports are not allowed inside flows; import at module level",
    ast.ImportFrom: "imports are not allowed inside flows; import at module level",
    ast.Global: "global is not supported in flows; pass values as parameters and return results",
    ast.Nonlocal: "nonlocal is not supported in flows; pass values as parameters and return results",
    ast.FunctionDef: "nested functions are not supported in flows; define a module-level @pure or @flow function",
    ast.AsyncFunctionDef: "nested functions are not supported in flows; define a module-level @flow function",
    ast.ClassDef: "classes cannot be defined inside flows; define a @dataclass at module level",
    ast.Delete: "del is not supported in flows",
    ast.Assert: "assert is not supported in flows; test the condition with if and return a DSError",
    ast.AsyncFor: "async for is not supported in flows; use a for loop or a dpslio.Queue",
}
if hasattr(ast, "TryStar"):
    UNSUPPORTED_STMT[ast.TryStar] = UNSUPPORTED_STMT[ast.Try]
UNSUPPORTED_EXPR = {
    ast.Lambda: "lambda is not supported in flows; define a @pure function",
    ast.SetComp: "comprehensions are not supported in flows; use a for loop",
    ast.GeneratorExp: "generator expressions are not supported in flows; use a for loop",
    ast.Yield: "yield is not supported in flows; pass values through a dpslio.Queue",
    ast.YieldFrom: "yield is not supported in flows; pass values through a dpslio.Queue",
    ast.Tuple: "tuples are not supported in flows; use a list or a @dataclass",
    ast.Set: "sets are not supported in flows; use a dict or a list",
    ast.Starred: "star expressions are not supported in flows",
    ast.Slice: "slices are not supported in flows; use a @pure function",
    ast.NamedExpr: "the walrus operator is only supported in `case _ if v := await q.get():` of dpslio.select",
}
# ast operator -> (int op, float op, object op)
ARITH = {
    ast.Add: (Op.IADD, Op.FADD, Op.ADD), ast.Sub: (Op.ISUB, Op.FSUB, None),
    ast.Mult: (Op.IMUL, Op.FMUL, Op.MUL), ast.Div: (Op.IDIV, Op.FDIV, None),
    ast.FloorDiv: (Op.IFLOORDIV, Op.FFLOORDIV, None), ast.Mod: (Op.IMOD, Op.FMOD, None),
    ast.Pow: (Op.IPOW, Op.FPOW, None),
}
OPSYM = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
         ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<",
         ast.RShift: ">>", ast.MatMult: "@"}
COMPARE = {  # ast op -> (int op, float op, object op)
    ast.Lt: (Op.ILT, Op.FLT, Op.LT), ast.LtE: (Op.ILE, Op.FLE, Op.LE),
    ast.Gt: (Op.IGT, Op.FGT, Op.GT), ast.GtE: (Op.IGE, Op.FGE, Op.GE),
    ast.Eq: (Op.IEQ, Op.FEQ, Op.EQ), ast.NotEq: (Op.INE, Op.FNE, Op.NE),
}
MOVES = {"O": Op.MOVE, "I": Op.MOVEI, "F": Op.MOVEF}


class _Abort(Exception):
    """Stops compiling the current statement after an error was recorded."""


class Label:
    __slots__ = ("pc",)

    def __init__(self) -> None:
        self.pc: int | None = None


class Val:
    __slots__ = ("t", "f", "r")

    def __init__(self, t: Type, f: str, r: int) -> None:
        self.t, self.f, self.r = t, f, r


class Var:
    __slots__ = ("name", "t", "f", "r", "line", "col", "start")

    def __init__(self, name: str, t: Type, r: int, line: int, col: int, start: int) -> None:
        self.name, self.t, self.f, self.r = name, t, t.file, r
        self.line, self.col, self.start = line, col, start


class State:
    """Definitely assigned variables and narrowed types at one program point."""
    __slots__ = ("assigned", "narrow")

    def __init__(self, assigned: set | None = None, narrow: dict | None = None) -> None:
        self.assigned: set[Var] = assigned if assigned is not None else set()
        self.narrow: dict[Var, Type] = narrow if narrow is not None else {}

    def copy(self) -> State:
        return State(set(self.assigned), dict(self.narrow))


def join(a: State | None, b: State | None) -> State | None:
    if a is None:
        return b.copy() if b is not None else None
    if b is None:
        return a.copy()
    narrow = {}
    for v in a.narrow.keys() & b.narrow.keys():
        t = union(a.narrow[v], b.narrow[v])
        if t != v.t:
            narrow[v] = t
    return State(a.assigned & b.assigned, narrow)


def members(t: Type) -> tuple:
    return t.members if isinstance(t, UnionT) else (t,)


def number_union(t: Type) -> bool:
    """A union of numbers, such as max(1, 2.5) gives: int | float, bool | int."""
    return isinstance(t, UnionT) and all(m in (BOOL, INT, FLOAT) for m in t.members)


def assignable(src: Type, dst: Type) -> bool:
    if src == dst or (src == INT and dst == FLOAT):
        return True
    if dst == FLOAT and number_union(src) and BOOL not in members(src):
        return True             # a float slot holds a float: the int is converted
    # a bool where only int is declared is refused, as in an int slot: narrowing the union to int
    # would read it back as an int (declare int | bool to keep bools)
    return isinstance(dst, UnionT) and all(m in dst.members for m in members(src))


def assigned_names(body: list[ast.stmt]) -> set[str]:
    out = set()
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                    if isinstance(t, ast.Name):
                        out.add(t.id)
    return out


class Loop:
    __slots__ = ("brk", "cont", "breaks")

    def __init__(self) -> None:
        self.brk, self.cont, self.breaks = Label(), Label(), []


def _root(node: ast.expr) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""
