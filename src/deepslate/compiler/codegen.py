"""One flow function: check types and emit register code in a single walk.

``FunctionCompiler`` walks the function's ``ast`` once. Every expression is
compiled to a ``Val`` (its static type, register file and register); an
expression compiled for an assignment receives the destination register, so
``x = x + 1`` is one ``IADDI``. Registers are allocated like a stack: locals at
the bottom of each file in declaration order, temporaries above them, freed at
the end of every statement; a block's locals are freed when the block ends.
Small int/float and str constants used as operands live in constant registers
loaded once in the prologue (they are numbered above every other register of
their file when the code is finished), so a loop test ``i < 100`` costs no load.
Boxing is the other cost of unboxed locals: a local is boxed at most once per
straight-line stretch of a statement (``d[k] = d[k] + 1`` boxes ``k`` once), and
an int/bool parameter the flow never assigns is never boxed again (its argument
object stays in ``O[i]``). Keeping a boxed twin of every int local was the
alternative; it costs a write per assignment in the hot loops we want fast.

Flow-sensitive facts travel in a ``State``: which variables are definitely
assigned and which union-typed variables are narrowed by ``isinstance`` (or by
an assignment). ``None`` stands for "unreachable"; states meet at joins.
Errors are recorded per statement and compilation goes on with the next one,
so one pass reports every error of the function.
"""
from __future__ import annotations

import ast
from array import array
from typing import Any

from .._opcodes import CONST_OPERAND, JUMP_OPERAND, RANGE_OPERAND, REGISTER_FILES, TERMINATORS, Op
from .._types import (BOOL, BYTES, ERROR, FLOAT, INT, NONE, STR, DataclassT, DictT, ErrorT,
                      HandleT, ListT, Type, UnionT, union)
from ..program.dis import format_code
from ..program.model import CallTarget, Code, EffectSpec, LocalVar, TypeTest
from . import env as envmod
from .calls import DURABLE_PARAMS, CallCompiler
from .env import FlowRef, ModuleEnv, TypeErr
from .errors import CompileError, Source
from .ir import (ARITH, CBASE, COMPARE, INT32, MOVES, OPSYM, UNSUPPORTED_EXPR, UNSUPPORTED_STMT, Label,
                 Loop, State, Val, Var, _Abort, _root, assignable, assigned_names, join, members,
                 number_union)


def _number(t: Type) -> bool:
    """An int, a float, or either (min/max of mixed numbers): ordered by Python's comparison."""
    return t in (INT, FLOAT) or (number_union(t) and BOOL not in members(t))


def _numberish(t: Type) -> bool:
    return t in (BOOL, INT, FLOAT) or number_union(t)


def _float_equal(n: int) -> bool:
    """Whether some float equals the int n exactly."""
    try:
        return float(n) == n
    except OverflowError:
        return False


class Preloaded(ast.expr):
    """An operand whose value is already in a register."""
    _fields = ()

    def __init__(self, val: Val) -> None:
        super().__init__()
        self.val = val


class FunctionCompiler(CallCompiler):
    def __init__(self, env: ModuleEnv, src: Source, fn: ast.AsyncFunctionDef, ref: str,
                 source_text: str) -> None:
        self.env, self.src, self.fn, self.ref, self.source_text = env, src, fn, ref, source_text
        self.errors: list[CompileError] = []
        self.insns: list[list] = []
        self.positions: list[tuple[int, int]] = []
        self.pos = src.position(fn)
        self.consts: list = []
        self.const_keys: dict = {}
        self.top = {"O": 0, "I": 0, "F": 0}
        self.local_top = dict(self.top)
        self.maxr = dict(self.top)
        self.cregs: dict[str, list] = {"O": [], "I": [], "F": []}
        self.creg_index: dict = {}
        self.scopes: list[dict[str, Var]] = []
        self.all_vars: list[tuple[Var, int]] = []
        self.state: State | None = State()
        self.loops: list[Loop] = []
        self.flow_refs: list[FlowRef] = []
        self.params: list[tuple[str, Type]] = []
        self.returns: Type = NONE
        self.inferred: list[Type] | None = []   # result types seen, for a flow without annotation
        self.awaited: ast.Await | None = None   # the await around the call being compiled
        self.dead = False    # compiling statements that can never run
        # (file, register, box op) -> O register already holding that local boxed, valid
        # until the local is written, control flow joins or jumps, or temporaries are freed
        self.boxes: dict[tuple, int] = {}
        # I register of an unassigned int/bool param -> (its O[i], its type): an int(b) of a bool
        # param shares b's I register but must not box to the bool object
        self.pristine: dict[int, tuple[int, Type]] = {}

    # -- errors ------------------------------------------------------------------
    def fail(self, node: ast.AST, msg: str) -> Any:
        self.errors.append(self.src.error(node, msg))
        raise _Abort

    def report(self, node: ast.AST, msg: str) -> None:
        self.errors.append(self.src.error(node, msg))

    def typ(self, node: ast.expr) -> Type:
        try:
            return self.env.type_from_ast(node)
        except TypeErr as e:
            return self.fail(e.node or node, e.msg)

    # -- emission ----------------------------------------------------------------
    def set_pos(self, node: ast.AST) -> None:
        self.pos = self.src.position(node)

    def emit(self, op: Op, a: Any = 0, b: Any = 0, c: Any = 0) -> None:
        self.insns.append([op, a, b, c])
        self.positions.append(self.pos)
        if op in JUMP_OPERAND:
            self.boxes.clear()
        elif self.boxes and REGISTER_FILES[op][:1] in ("I", "F"):   # operand a is written
            for key in [k for k in self.boxes if k[0] == REGISTER_FILES[op][0] and k[1] == a]:
                del self.boxes[key]

    def free_temps(self) -> None:
        self.top = dict(self.local_top)
        self.boxes.clear()

    @property
    def pc(self) -> int:
        return len(self.insns)

    def place(self, label: Label) -> None:
        label.pc = self.pc
        self.boxes.clear()

    def const(self, v: Any) -> int:
        key = (type(v), v.hex() if isinstance(v, float) else v) if isinstance(
            v, (int, float, str, bytes, bool, type(None))) else ("id", id(v))
        if key not in self.const_keys:
            self.const_keys[key] = len(self.consts)
            self.consts.append(v)
        return self.const_keys[key]

    def alloc(self, f: str, n: int = 1) -> int:
        r = self.top[f]
        self.top[f] += n
        self.maxr[f] = max(self.maxr[f], self.top[f])
        return r

    def creg(self, f: str, v: Any) -> int:
        """A register that holds constant v for the whole function."""
        key = (f, type(v), v.hex() if isinstance(v, float) else v)
        if key not in self.creg_index:
            self.creg_index[key] = CBASE + len(self.cregs[f])
            self.cregs[f].append(v)
        return self.creg_index[key]

    def target(self, f: str, dst: tuple | None, safe: bool = False) -> int:
        if dst is not None and dst[0] == f and not (safe and dst[2]):
            return dst[1]
        return self.alloc(f)

    # -- scopes and variables ------------------------------------------------------
    def lookup(self, name: str) -> Var | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def declare(self, node: ast.AST, name: str, t: Type) -> Var:
        old = self.lookup(name)
        if old is not None:
            where = "in this block" if name in self.scopes[-1] else \
                "as a parameter" if self.scopes[0].get(name) is old else "in an enclosing block"
            self.report(node, f"{name} is already declared at line {old.line} ({where}); "
                              "assign to it without an annotation or use another name")
        r = self.alloc(t.file)
        self.local_top = dict(self.top)
        line, col = self.src.position(node)
        var = Var(name, t, r, line, col, self.pc)
        self.scopes[-1][name] = var
        return var

    def push(self) -> tuple:
        self.scopes.append({})
        return dict(self.local_top)

    def pop(self, saved: tuple) -> None:
        for var in self.scopes.pop().values():
            self.all_vars.append((var, self.pc))
        self.local_top = dict(saved)
        self.top = dict(saved)
        self.boxes.clear()

    def block(self, body: list[ast.stmt]) -> None:
        saved = self.push()
        for stmt in body:
            self.stmt(stmt)
        self.pop(saved)

    def mark_assigned(self, var: Var, t: Type | None) -> None:
        if self.state is None:
            return
        self.state.assigned.add(var)
        if t is not None and isinstance(var.t, UnionT) and t != var.t and assignable(t, var.t):
            self.state.narrow[var] = t
        else:
            self.state.narrow.pop(var, None)

    # -- the function --------------------------------------------------------------
    def compile(self) -> Code:
        fn = self.fn
        self.scopes.append({})
        a = fn.args
        for bad, what in ((a.vararg, "*args"), (a.kwarg, "**kwargs")):
            if bad is not None:
                self.report(bad, f"{what} is not supported in flow parameters; pass a list or a dict")
        if a.kwonlyargs:
            self.report(a.kwonlyargs[0], "keyword-only parameters are not supported in flows")
        if a.defaults:
            self.report(a.defaults[0], "default values are not supported for flow parameters; "
                                       "pass every argument")
        plist = a.posonlyargs + a.args
        for p in plist:
            t = NONE
            if p.annotation is None:
                self.report(p, f"parameter {p.arg} of flow {fn.name} needs a type annotation, e.g. {p.arg}: int")
            else:
                try:
                    t = self.typ(p.annotation)
                except _Abort:
                    pass
            self.params.append((p.arg, t))
        if fn.returns is not None:
            self.inferred = None
            try:
                self.returns = self.typ(fn.returns)
            except _Abort:
                pass
        # arguments arrive boxed in O[0..n-1]; int/bool/float ones get their own slot
        self.alloc("O", len(plist))
        self.local_top = dict(self.top)
        self.set_pos(fn)
        reassigned = assigned_names(fn.body)
        for i, (p, (name, t)) in enumerate(zip(plist, self.params)):
            if t.file == "O":
                var = Var(name, t, i, *self.src.position(p), 0)
            else:
                var = Var(name, t, self.alloc(t.file), *self.src.position(p), 0)
                self.local_top = dict(self.top)
                self.emit(Op.UNBOXI if t.file == "I" else Op.UNBOXF, var.r, i)
                if t in (INT, BOOL) and name not in reassigned:
                    # O[i] still holds the argument object: boxing the parameter is free
                    self.pristine[var.r] = (i, t)
            if name in self.scopes[0]:
                self.report(p, f"duplicate parameter {name}")
            self.scopes[0][name] = var
            self.state.assigned.add(var)  # type: ignore[union-attr]
        body = fn.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]   # docstring
        saved = self.push()
        for stmt in body:
            self.stmt(stmt)
        self.pop(saved)
        if self.state is not None:
            # (after another error the path may only look open: a rejected try that returned)
            if self.returns != NONE and NONE not in members(self.returns) and not self.errors:
                self.report(fn, f"flow {fn.name} is declared to return {self.returns} but can reach "
                                "the end without a return statement")
            if self.inferred is not None:
                self.inferred.append(NONE)
            self.pos = self.src.position(body[-1] if body else fn)
            self.emit(Op.RETURNNONE)
        if self.inferred:
            self.returns = union(*self.inferred)
        for var in self.scopes.pop().values():
            self.all_vars.append((var, self.pc))
        return self.finish()

    def finish(self) -> Code:
        end = len(self.insns)
        if any(isinstance(x, Label) and x.pc == end for ins in self.insns for x in ins[1:]):
            self.emit(Op.RETURNNONE)   # a jump out of dead code lands past the last instruction
        elif self.insns and Op(self.insns[-1][0]) not in TERMINATORS:
            self.emit(Op.RETURNNONE)   # dead code after a return ends the body: never reached
        base = dict(self.maxr)
        prologue = []
        pos0 = self.src.position(self.fn)
        for f, loader in (("I", None), ("F", Op.LOADKF), ("O", Op.LOADK)):
            for i, v in enumerate(self.cregs[f]):
                r = base[f] + i
                if f == "I":
                    if INT32[0] <= v <= INT32[1]:
                        prologue.append([Op.LOADI, r, v, 0])
                    else:
                        prologue.append([Op.LOADKI, r, self.const(v), 0])
                elif v is None:
                    prologue.append([Op.LOADNONE, r, 0, 0])
                else:
                    prologue.append([loader, r, self.const(v), 0])
        shift = len(prologue)
        words = array("i")
        for ins in prologue + self.insns:
            op = ins[0]
            files = REGISTER_FILES[op]
            out = [int(op), 0, 0, 0]
            for k in range(3):
                x = ins[k + 1]
                if isinstance(x, Label):
                    if x.pc is None:   # only a statement cut short by an error leaves one
                        assert self.errors, f"internal error: unplaced label in {self.fn.name}"
                        x.pc = 0
                    x = x.pc + shift
                elif k < len(files) and files[k] in "OIF" and x >= CBASE:
                    x = base[files[k]] + x - CBASE
                out[k + 1] = x
            words.extend(out)
        positions = array("i")
        for line, col in [pos0] * shift + self.positions:
            positions.extend((line, col))
        local_vars = tuple(
            LocalVar(v.name, v.f, v.r, v.t, v.start + shift if v.start else 0, end + shift)
            for v, end in self.all_vars if "@" not in v.name)
        code = Code(
            name=self.fn.name, ref=self.ref, filename=self.src.filename,
            firstlineno=self.src.first_line, source=self.source_text,
            params=tuple(self.params), returns=self.returns, insns=words, positions=positions,
            consts=tuple(self.consts), n_o=base["O"] + len(self.cregs["O"]),
            n_i=base["I"] + len(self.cregs["I"]), n_f=base["F"] + len(self.cregs["F"]),
            locals=local_vars)
        if not self.errors:
            problem = verify(code)
            if problem:   # a compiler bug: show the code, then stop
                raise AssertionError(f"internal compiler error in flow {code.name}: {problem}\n"
                                     f"{format_code(code)}")
        return code

    # -- statements ------------------------------------------------------------------
    def stmt(self, node: ast.stmt) -> None:
        was_dead = self.dead
        if self.state is None:   # unreachable code is still checked, and stays unreachable
            self.state = State(self.all_assigned())
            self.dead = True
        self.free_temps()
        self.set_pos(node)
        try:
            method = getattr(self, "s_" + type(node).__name__, None)
            if method is None:
                self.fail(node, UNSUPPORTED_STMT.get(type(node), f"{type(node).__name__} statements "
                                                                 "are not supported in flows"))
            method(node)
        except _Abort:
            if isinstance(node, (ast.Return, ast.Break, ast.Continue)):
                self.state = None   # no "missing return" after a return that did not compile
        self.free_temps()
        if self.dead and not was_dead:
            self.state = None
        self.dead = was_dead

    def all_assigned(self) -> set:
        return {v for scope in self.scopes for v in scope.values()}

    def s_Pass(self, node: ast.Pass) -> None:
        pass

    def s_AnnAssign(self, node: ast.AnnAssign) -> None:
        if not isinstance(node.target, ast.Name):
            self.fail(node.target, "only plain names can be declared; assign to fields and items "
                                   "without an annotation")
        name = node.target.id
        try:
            t = self.typ(node.annotation)
        except _Abort:
            self.declare(node.target, name, NONE)
            raise
        if self.lookup(name) is not None:
            self.declare(node.target, name, t)   # reports the conflict
            return
        if node.value is None:
            self.declare(node.target, name, t)
            return
        r = self.alloc(t.file)
        self.local_top = dict(self.top)
        try:
            v = self.into(node.value, t, r, False, f"cannot initialise {name}")
        finally:
            line, col = self.src.position(node.target)
            var = Var(name, t, r, line, col, self.pc)
            self.scopes[-1][name] = var
            self.mark_assigned(var, None)
        self.mark_assigned(var, v.t)

    def s_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) != 1:
            self.fail(node, "chained assignment is not supported in flows; assign one target at a time")
        self.assign(node.targets[0], node.value, node)

    def assign(self, target: ast.expr, value: ast.expr, node: ast.AST) -> None:
        if isinstance(target, ast.Name):
            var = self.lookup(target.id)
            if var is None:
                hint = f"declare it with a type first, e.g. {target.id}: int = ..."
                self.fail(target, f"{target.id} is not declared; {hint}")
            v = self.into(value, var.t, var.r, True, f"cannot assign to {var.name}")
            self.mark_assigned(var, v.t)
        elif isinstance(target, ast.Subscript) and not getattr(value, "inplace", False) \
                and not isinstance(target.slice, ast.Slice):
            # Python evaluates the value before the container and the index
            ct = self.peek_type(target.value)
            vt = ct.elem if isinstance(ct, ListT) else ct.value if isinstance(ct, DictT) else None
            if vt is None:
                self.fail(target, f"cannot assign items of {ct}; only list and dict items can be assigned")
            val = self.boxed(value, vt, f"cannot store into the {'list' if isinstance(ct, ListT) else 'dict'}")
            cont = self.operand(target.value)
            self.set_pos(target)
            if isinstance(ct, ListT):
                idx = self.expect(target.slice, INT, "list index")
                self.set_pos(target)
                self.emit(Op.STOREINDEXI, cont.r, idx.r, val)
            else:
                key = self.boxed(target.slice, ct.key, "dict key")
                self.set_pos(target)
                self.emit(Op.STOREINDEX, cont.r, key, val)
        elif isinstance(target, ast.Subscript):
            cont = self.operand(target.value)
            self.set_pos(target)
            if isinstance(cont.t, ListT):
                idx = self.expect(target.slice, INT, "list index")
                value = self.preload(value, Op.INDEXI, cont.r, idx.r, cont.t.elem)
                val = self.boxed(value, cont.t.elem, "cannot store into the list")
                self.set_pos(target)
                self.emit(Op.STOREINDEXI, cont.r, idx.r, val)
            elif isinstance(cont.t, DictT):
                key = self.boxed(target.slice, cont.t.key, "dict key")
                value = self.preload(value, Op.INDEX, cont.r, key, cont.t.value)
                val = self.boxed(value, cont.t.value, "cannot store into the dict")
                self.set_pos(target)
                self.emit(Op.STOREINDEX, cont.r, key, val)
            else:
                self.fail(target, f"cannot assign items of {cont.t}; only list and dict items can be assigned")
        elif isinstance(target, ast.Attribute):
            inplace = getattr(value, "inplace", False)
            ot = self.peek_type(target.value)
            if not isinstance(ot, DataclassT):
                self.fail(target, f"cannot assign attribute {target.attr} of {ot}; only dataclass "
                                  "fields can be assigned")
            ft = self.field_type(ot, target.attr, target)
            if not inplace:   # Python evaluates the value first
                val = self.boxed(value, ft, f"cannot assign to field {target.attr}")
            obj = self.operand(target.value)
            if inplace:
                value = self.preload(value, Op.GETATTR, obj.r, self.const(target.attr), ft)
                val = self.boxed(value, ft, f"cannot assign to field {target.attr}")
            self.set_pos(target)
            self.emit(Op.SETATTR, obj.r, self.const(target.attr), val)
        elif isinstance(target, (ast.Tuple, ast.List)):
            self.fail(target, "unpacking assignment is not supported in flows; assign one name at a time")
        else:
            self.fail(target, "cannot assign to this expression")

    def preload(self, value: ast.expr, op: Op, b: int, c: int, t: Type) -> ast.expr:
        """For x[i] += v: read x[i] through the container and index already
        evaluated (Python evaluates them once) and put it in the BinOp."""
        if not getattr(value, "inplace", False):
            return value
        r = self.alloc("O")
        self.emit(op, r, b, c)
        v = Val(t, "O", r) if t.file == "O" else self.convert(Val(t, "O", r), t, value, "")
        out = ast.copy_location(ast.BinOp(ast.copy_location(Preloaded(v), value.left), value.op, value.right), value)  # type: ignore[attr-defined]
        out.inplace = True  # type: ignore[attr-defined]
        out.end_lineno, out.end_col_offset = value.end_lineno, value.end_col_offset
        return out

    def e_Preloaded(self, node: Preloaded, want: Type | None, dst: tuple | None) -> Val:
        return node.val

    def s_AugAssign(self, node: ast.AugAssign) -> None:
        load = ast.fix_missing_locations(ast.copy_location(
            type(node.target)(**{**{f: getattr(node.target, f) for f in node.target._fields},
                                 "ctx": ast.Load()}), node.target))
        value = ast.copy_location(ast.BinOp(load, node.op, node.value), node)
        value.inplace = True   # type: ignore[attr-defined]  # xs += ys extends the list itself
        value.end_lineno, value.end_col_offset = node.end_lineno, node.end_col_offset
        self.assign(node.target, value, node)

    def s_Expr(self, node: ast.Expr) -> None:
        e = node.value
        inner = e.value if isinstance(e, ast.Await) else e
        if not isinstance(inner, ast.Call) and not isinstance(e, ast.Await):
            if isinstance(e, ast.Constant) and isinstance(e.value, str):
                return  # a string used as a comment
            self.fail(e, "this expression has no effect; assign its value to a variable or remove it")
        self.ex(e, statement=True)

    def s_Return(self, node: ast.Return) -> None:
        name = self.fn.name
        if node.value is None:
            if self.inferred is not None:
                self.inferred.append(NONE)
            elif self.returns != NONE and NONE not in members(self.returns):
                self.fail(node, f"flow {name} must return a value of type {self.returns}")
            self.emit(Op.RETURNNONE)
        elif self.inferred is not None:   # no annotation: the result type is what the flow returns
            v = self.ex(node.value)
            r = self.convert(v, v.t, node.value, "", boxed=True).r
            self.inferred.append(v.t)
            self.set_pos(node)
            self.emit(Op.RETURN, r)
        elif self.returns == NONE and not (isinstance(node.value, ast.Constant) and node.value.value is None):
            self.fail(node.value, f"flow {name} is declared to return None; change its annotation, e.g. "
                                  f"async def {name}(...) -> int")
        else:
            r = self.boxed(node.value, self.returns, f"flow {name} returns {self.returns}")
            self.set_pos(node)
            self.emit(Op.RETURN, r)
        self.state = None

    def s_If(self, node: ast.If) -> None:
        then_facts, else_facts = self.narrowing(node.test)
        l_else, l_end = Label(), Label()
        self.cond(node.test, l_else, False)
        entry = self.state
        self.state = self.apply(entry, then_facts)
        self.block(node.body)
        s1 = self.state
        if node.orelse:
            if s1 is not None:
                self.emit(Op.JUMP, l_end)
            self.place(l_else)
            self.state = self.apply(entry, else_facts)
            self.block(node.orelse)
            s2 = self.state
            self.place(l_end)
        else:
            self.place(l_else)
            s2 = self.apply(entry, else_facts)
        self.state = join(s1, s2)

    def apply(self, state: State | None, facts: dict) -> State | None:
        if state is None:
            return None
        s = state.copy()
        for var, t in facts.items():
            if t == var.t:
                s.narrow.pop(var, None)
            else:
                s.narrow[var] = t
        return s

    def narrowing(self, test: ast.expr) -> tuple[dict, dict]:
        """Facts (var -> type) that hold when test is true, and when it is false."""
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            t, f = self.narrowing(test.operand)
            return f, t
        if isinstance(test, ast.BoolOp):
            parts = [self.narrowing(v) for v in test.values]
            merged: dict = {}
            for t, f in parts:
                merged.update(t if isinstance(test.op, ast.And) else f)
            return (merged, {}) if isinstance(test.op, ast.And) else ({}, merged)
        var, member = None, None
        if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id == "isinstance" \
                and len(test.args) == 2 and isinstance(test.args[0], ast.Name):
            var = self.lookup(test.args[0].id)
            if var is not None and var.f == "O":
                try:
                    member = self.isinstance_member(self.current(var), test.args[1])
                except _Abort:
                    self.errors.pop()
                    return {}, {}
        elif isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name) \
                and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None \
                and isinstance(test.ops[0], (ast.Is, ast.IsNot, ast.Eq, ast.NotEq)):
            var = self.lookup(test.left.id)
            member = NONE
            if isinstance(test.ops[0], (ast.IsNot, ast.NotEq)):
                t, f = self._facts(var, member)
                return f, t
        if var is None or member is None or var.f != "O":
            return {}, {}
        return self._facts(var, member)

    def _facts(self, var: Var | None, member: Type) -> tuple[dict, dict]:
        if var is None or var.f != "O":
            return {}, {}
        cur = self.current(var)
        rest = [m for m in members(cur) if m not in members(member)]
        return {var: member}, ({var: union(*rest)} if rest else {})

    def current(self, var: Var) -> Type:
        if self.state is not None and var in self.state.narrow:
            return self.state.narrow[var]
        return var.t

    def loop_entry(self, body: list[ast.stmt]) -> State | None:
        names = assigned_names(body)
        head = self.state.copy() if self.state is not None else None
        if head is not None:
            for var in list(head.narrow):
                if var.name in names:
                    del head.narrow[var]
        return head

    def s_While(self, node: ast.While) -> None:
        if node.orelse:
            self.fail(node.orelse[0], "while ... else is not supported in flows")
        loop = Loop()
        head = self.loop_entry(node.body)
        forever = isinstance(node.test, ast.Constant) and node.test.value is True
        l_body = Label()
        if forever:
            self.place(l_body)
            loop.cont = l_body
        else:
            self.emit(Op.JUMP, loop.cont)
            self.place(l_body)
        self.state = head.copy() if head else None
        self.loops.append(loop)
        self.block(node.body)
        self.loops.pop()
        if forever:
            self.emit(Op.JUMP, l_body)
        else:
            self.place(loop.cont)
            self.state = head.copy() if head else None
            self.set_pos(node.test)
            self.free_temps()
            self.cond(node.test, l_body, True)
        self.loop_exit(loop, None if forever else head)

    def s_Break(self, node: ast.Break) -> None:
        if not self.dead:
            self.loops[-1].breaks.append(self.state)
        self.emit(Op.JUMP, self.loops[-1].brk)
        self.state = None

    def s_Continue(self, node: ast.Continue) -> None:
        self.emit(Op.JUMP, self.loops[-1].cont)
        self.state = None

    def s_For(self, node: ast.For) -> None:
        if node.orelse:
            self.fail(node.orelse[0], "for ... else is not supported in flows")
        it = node.iter
        call_name = it.func.id if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) \
            and self.lookup(it.func.id) is None else None
        if call_name == "range":
            return self.for_range(node, it)
        index_target = None
        target = node.target
        if call_name == "enumerate":
            if len(it.args) != 1 or it.keywords:
                self.fail(it, "enumerate takes one list, e.g. for i, x in enumerate(xs)")
            if not (isinstance(target, ast.Tuple) and len(target.elts) == 2
                    and all(isinstance(e, ast.Name) for e in target.elts)):
                self.fail(target, "for over enumerate needs two names, e.g. for i, x in enumerate(xs)")
            index_target, target = target.elts
            it = it.args[0]
        if not isinstance(target, ast.Name):
            self.fail(target, "the loop target must be one name (or i, x with enumerate)")
        if isinstance(it, ast.Tuple):   # for x in (1, 2, 3): the idiom reads as a list
            it = ast.copy_location(ast.List(it.elts, ast.Load()), it)
        saved = self.push()
        seq = self.operand(it)
        self.set_pos(it)
        if isinstance(seq.t, ListT):
            elem = seq.t.elem
        elif isinstance(seq.t, DictT):
            elem = seq.t.key
        elif seq.t in (STR, BYTES):
            elem = STR if seq.t == STR else INT
        else:
            self.fail(it, f"cannot iterate over {seq.t}; iterate over a list, a dict's keys, a str or range(...)")
        lst = self.declare_hidden("O")
        if isinstance(seq.t, ListT):
            self.emit(Op.MOVE, lst, seq.r)
        else:
            self.emit(Op.TOLIST, lst, seq.r)
        names = assigned_names(node.body)
        idx_var = None
        if index_target is not None:
            if index_target.id in names:
                self.fail(index_target, f"the loop index {index_target.id} cannot be assigned in the loop body")
            idx_var = self.declare(index_target, index_target.id, INT)
            idx = idx_var.r
        else:
            idx = self.declare_hidden("I")
        var = self.declare(target, target.id, elem)
        self.emit(Op.LOADI, idx, 0)
        head = self.loop_entry(node.body)
        loop = Loop()
        l_body, l_test = Label(), Label()
        self.emit(Op.JUMP, l_test)
        self.place(l_body)
        self.set_pos(target)
        if var.f == "O":
            self.emit(Op.INDEXI, var.r, lst, idx)
        else:
            tmp = self.alloc("O")
            self.emit(Op.INDEXI, tmp, lst, idx)
            self.emit(Op.UNBOXI if var.f == "I" else Op.UNBOXF, var.r, tmp)
        var.start = self.pc
        if idx_var is not None:
            idx_var.start = self.pc
        self.for_body(node, loop, head, [v for v in (var, idx_var) if v is not None])
        self.emit(Op.IADDI, idx, idx, 1)
        self.place(l_test)
        n, c = self.alloc("I"), self.alloc("I")
        self.emit(Op.LEN, n, lst)
        self.emit(Op.ILT, c, idx, n)
        self.emit(Op.JUMPIF, c, l_body)
        self.loop_exit(loop, head)
        self.pop(saved)

    def for_body(self, node: ast.For, loop: Loop, head: State | None, bound: list[Var]) -> None:
        """A for loop's body, entered with its loop variables assigned; it ends at
        ``loop.cont`` on the iterable's position with no temporaries, before the step."""
        self.state = head
        if self.state is not None:
            self.state.assigned.update(bound)
        self.loops.append(loop)
        self.block(node.body)
        self.loops.pop()
        self.place(loop.cont)
        self.set_pos(node.iter)
        self.free_temps()

    def loop_exit(self, loop: Loop, out: State | None) -> None:
        """Where a loop ends: what holds when it falls through (``out``) or leaves by any break."""
        self.place(loop.brk)
        for s in loop.breaks:
            out = join(out, s)
        self.state = out

    def in_var(self, node: ast.expr, v: Val) -> bool:
        """Whether v is node's own variable register (not a temporary copy of it)."""
        var = self.lookup(node.id) if isinstance(node, ast.Name) else None
        return var is not None and var.f == v.f and var.r == v.r

    def declare_hidden(self, f: str) -> int:
        r = self.alloc(f)
        self.local_top = dict(self.top)
        return r

    def for_range(self, node: ast.For, it: ast.Call) -> None:
        if it.keywords or not 1 <= len(it.args) <= 3:
            self.fail(it, "range takes one to three int arguments")
        if not isinstance(node.target, ast.Name):
            self.fail(node.target, "the loop target of range(...) must be one name")
        args = it.args
        start = args[0] if len(args) > 1 else ast.copy_location(ast.Constant(0), it)
        stop = args[1] if len(args) > 1 else args[0]
        step: int | None = 1
        if len(args) == 3:
            s = args[2]
            if isinstance(s, ast.UnaryOp) and isinstance(s.op, ast.USub) and isinstance(s.operand, ast.Constant):
                s = ast.copy_location(ast.Constant(-s.operand.value), s)  # type: ignore[operator]
            if isinstance(s, ast.Constant) and type(s.value) is int and s.value != 0 \
                    and INT32[0] <= s.value <= INT32[1]:
                step = s.value
            elif isinstance(s, ast.Constant) and s.value == 0:
                self.fail(args[2], "range() step must not be zero")
            else:
                step = None   # known at run time only
        saved = self.push()
        names = assigned_names(node.body)
        name = node.target.id
        hidden = name in names
        if self.lookup(name) is not None:
            self.declare(node.target, name, INT)
        # the end is evaluated once, like Python's range object
        stop_v = self.expect(stop, INT, "range() argument")
        if stop_v.r < CBASE and not (isinstance(stop, ast.Name) and stop.id not in names
                                     and self.in_var(stop, stop_v)):
            end = self.declare_hidden("I")
            self.emit(Op.MOVEI, end, stop_v.r)
        else:
            end = stop_v.r
        self.free_temps()
        if step is None:
            sv = self.expect(args[2], INT, "range() argument")
            step_r, pos = self.declare_hidden("I"), self.declare_hidden("I")
            self.emit(Op.MOVEI, step_r, sv.r)
            zero, l_ok = self.alloc("I"), Label()
            self.emit(Op.IEQ, zero, step_r, self.creg("I", 0))
            self.emit(Op.JUMPIFNOT, zero, l_ok)
            # let range() itself raise its ValueError, so the isolate faults here
            base = self.alloc("O", 3)
            self.emit(Op.BOXI, base, end)
            self.emit(Op.BOXI, base + 1, end)
            self.emit(Op.BOXI, base + 2, step_r)
            self.emit(Op.CALL, base, self.const(CallTarget("builtin", "builtin:range", 3)), base)
            self.place(l_ok)
            self.emit(Op.IGT, pos, step_r, self.creg("I", 0))
            self.free_temps()
        ctr = self.declare_hidden("I") if hidden else None
        var = self.declare(node.target, name, INT)
        counter = ctr if hidden else var.r
        self.into(start, INT, counter, False, "range() argument")
        head = self.loop_entry(node.body)
        loop = Loop()
        l_body, l_test = Label(), Label()
        self.emit(Op.JUMP, l_test)
        self.place(l_body)
        if hidden:
            self.emit(Op.MOVEI, var.r, counter)
        var.start = self.pc
        self.for_body(node, loop, head, [var])
        c = self.alloc("I")
        if step is not None:
            self.emit(Op.IADDI, counter, counter, step)
            self.place(l_test)
            self.emit(Op.ILT if step > 0 else Op.IGT, c, counter, end)
        else:
            l_neg, l_jump = Label(), Label()
            self.emit(Op.IADD, counter, counter, step_r)
            self.place(l_test)
            self.emit(Op.JUMPIFNOT, pos, l_neg)
            self.emit(Op.ILT, c, counter, end)
            self.emit(Op.JUMP, l_jump)
            self.place(l_neg)
            self.emit(Op.IGT, c, counter, end)
            self.place(l_jump)
        self.emit(Op.JUMPIF, c, l_body)
        self.loop_exit(loop, head)
        self.pop(saved)

    def s_Match(self, node: ast.Match) -> None:
        subj = node.subject
        if isinstance(subj, ast.Attribute) and subj.attr == "select" and \
                self.env.attr_object(subj.value) is envmod.dpslio:
            return self.select(node)
        saved = self.push()
        v = self.operand(subj)
        if v.r >= CBASE or not self.in_var(subj, v):
            r = self.declare_hidden(v.f)
            self.emit(MOVES[v.f], r, v.r)
            v = Val(v.t, v.f, r)
        self.free_temps()
        entry = self.state
        out: State | None = None
        l_end = Label()
        exhaustive = False
        for case in node.cases:
            if case.guard is not None:
                self.fail(case.guard, "case guards are not supported in flows; test with if inside the case")
            l_next, l_body = Label(), Label()
            alts = case.pattern.patterns if isinstance(case.pattern, ast.MatchOr) else [case.pattern]
            wildcard = False
            self.state = entry.copy() if entry else None
            for alt in alts:
                if isinstance(alt, ast.MatchAs) and alt.pattern is None and alt.name is None:
                    wildcard = True
                    continue
                self.set_pos(alt)
                c = self.pattern_test(alt, v)
                self.emit(Op.JUMPIF, c, l_body)
                self.free_temps()
            if not wildcard:
                self.emit(Op.JUMP, l_next)
            self.place(l_body)
            self.block(case.body)
            if self.state is not None:
                self.emit(Op.JUMP, l_end)
            out = join(out, self.state)
            self.place(l_next)
            if wildcard:
                exhaustive = True
                break
        self.place(l_end)
        self.pop(saved)
        self.state = out if exhaustive else join(out, entry)

    def pattern_test(self, pat: ast.pattern, subj: Val) -> int:
        if isinstance(pat, ast.MatchSingleton):
            value = pat.value
        elif isinstance(pat, ast.MatchValue):
            e = pat.value
            if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) and isinstance(e.operand, ast.Constant) \
                    and type(e.operand.value) in (int, float):
                value = -e.operand.value
            elif isinstance(e, ast.Constant) and type(e.value) in (int, float, str, bytes, bool):
                value = e.value
            else:
                self.fail(pat, "case patterns must be literals (int, str, bool, None) or _")
        elif isinstance(pat, ast.MatchAs):
            self.fail(pat, "capture patterns are not supported in flows; use case _ and the subject itself")
        else:
            self.fail(pat, "only literal patterns, | alternatives and _ are supported in flows")
        c = self.alloc("I")
        st = subj.t
        if value is None:
            if subj.f != "O" or NONE not in members(st):
                self.fail(pat, f"case None can never match a subject of type {st}")
            self.emit(Op.ISNONE, c, subj.r)
            return c
        vt = {bool: BOOL, int: INT, float: FLOAT, str: STR, bytes: BYTES}[type(value)]
        # True and False match by identity; number literals by ==, which compares a bool,
        # an int and a float exactly (True == 1 == 1.0)
        singleton = isinstance(pat, ast.MatchSingleton)
        numeric = (BOOL, INT, FLOAT)
        if subj.f == "I" and ((st == vt == BOOL) or (not singleton and vt in numeric)):
            if vt == FLOAT and not value.is_integer():
                self.fail(pat, f"case {value!r} can never match a subject of type {st} (no {st} equals it)")
            self.emit(Op.IEQ, c, subj.r, self.creg("I", int(value)))
        elif st == FLOAT and not singleton and vt in numeric:
            if vt == INT and not _float_equal(value):
                self.fail(pat, f"case {value!r} can never match a float: no float equals it exactly")
            self.emit(Op.FEQ, c, subj.r, self.creg("F", float(value)))
        elif subj.f == "O" and singleton and (BOOL in members(st) or INT in members(st)):
            # `is True`: a bool equal to it (1 == True, but 1 is not True); an int union may hold a bool
            self.emit(Op.ISINSTANCE, c, subj.r, self.const(TypeTest(BOOL)))
            same = self.alloc("I")
            self.emit(Op.EQ, same, subj.r, self.loadk(value))
            self.emit(Op.IMUL, c, c, same)
        elif subj.f == "O" and not singleton and (vt in members(st) or (
                vt in numeric and any(m in numeric for m in members(st)))):
            self.emit(Op.EQ, c, subj.r, self.creg("O", value) if vt in (STR, BYTES) else self.loadk(value))
        else:
            self.fail(pat, f"case {value!r} can never match a subject of type {st}")
        return c

    def loadk(self, value: Any) -> int:
        r = self.alloc("O")
        self.emit(Op.LOADK, r, self.const(value))
        return r

    SELECT_FORMS = ("each case of match dpslio.select must be `case _ if v := await q.get():`, "
                    "`case _ if body := await http_listen(method, route):` or `case _ if await sleep(seconds):`")

    def select_case(self, case: ast.match_case) -> tuple[str, ast.Call, ast.NamedExpr | None]:
        """One case of a select: its kind (queue, listen, sleep), its call and its walrus."""
        g = case.guard
        if not (isinstance(case.pattern, ast.MatchAs) and case.pattern.pattern is None
                and case.pattern.name is None and g is not None):
            self.fail(case.pattern if g is None else g, self.SELECT_FORMS)
        walrus = g if isinstance(g, ast.NamedExpr) else None
        call = walrus.value if walrus is not None else g
        if isinstance(call, ast.Await):
            call = call.value
        if not isinstance(call, ast.Call):
            self.fail(g, self.SELECT_FORMS)
        kind = None
        if isinstance(call.func, (ast.Name, ast.Attribute)):
            try:
                kind = self.callee(call.func)
            except _Abort:
                self.errors.pop()
        if kind == ("durable", "sleep"):
            if walrus is not None:
                self.fail(walrus.target, "the sleep case of select binds no variable: "
                                         "write `case _ if await sleep(seconds):`")
            return "sleep", call, None
        if kind == ("durable", "http_listen"):
            if walrus is None:
                self.fail(g, "a select case on http_listen binds the request body: "
                             "`case _ if body := await http_listen(method, route):`")
            for k in call.keywords:
                if k.arg == "timeout":
                    self.fail(k, "http_listen in select takes no timeout; add a case `case _ if await sleep(seconds):`")
            return "listen", call, walrus
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == "get"
                and not call.args and not call.keywords):
            self.fail(g, self.SELECT_FORMS)
        if walrus is None:
            self.fail(g, "a select case on a queue binds the item: `case _ if v := await q.get():`")
        return "queue", call, walrus

    def select(self, node: ast.Match) -> None:
        saved = self.push()
        cases = [self.select_case(case) for case in node.cases]
        if not cases:
            self.fail(node, "match dpslio.select needs at least one case")
        sleeps = [call for kind, call, _ in cases if kind == "sleep"]
        if len(sleeps) > 1:
            self.fail(sleeps[1], f"match dpslio.select takes one timeout case; the first is at line {self.src.position(sleeps[0])[0]}")
        width = {"queue": 1, "listen": 2, "sleep": 1}
        nargs = sum(width[kind] for kind, _, _ in cases)
        base = self.alloc("O", nargs)
        elems: list[Type | None] = []
        at = base
        for kind, call, _ in cases:
            if kind == "queue":
                q = call.func.value  # type: ignore[attr-defined]
                qv = self.ex(q, dst=("O", at, False))
                if not (isinstance(qv.t, HandleT) and qv.t.kind == "Queue"):
                    self.fail(q, f"select reads queues; {ast.unparse(q)} is {qv.t}")
                if qv.r != at:
                    self.emit(Op.MOVE, at, qv.r)
                elems.append(qv.t.elem)
            else:
                fname = "http_listen" if kind == "listen" else "sleep"
                params = DURABLE_PARAMS[fname]
                args = self.bind(call, params, fname)
                for i, (a, (pname, pt)) in enumerate(zip(args, params)):
                    self.boxed(a, pt, f"argument {pname} of {fname}", at + i)
                elems.append(BYTES if kind == "listen" else None)
            at += width[kind]
        self.set_pos(node.subject)
        res = self.alloc("O")
        # extra names each case's kind; () when every case is a queue (the original form)
        kinds = tuple(kind for kind, _, _ in cases)
        extra = () if all(k == "queue" for k in kinds) else kinds
        self.emit(Op.EFFECT, res, self.const(EffectSpec("select", nargs, extra)), base)
        self.free_temps()
        res_h = self.declare_hidden("O")
        self.emit(Op.MOVE, res_h, res)
        idx = self.declare_hidden("I")
        tmp = self.alloc("O")
        self.emit(Op.INDEXI, tmp, res_h, self.creg("I", 0))
        self.emit(Op.UNBOXI, idx, tmp)
        self.free_temps()
        entry = self.state
        out: State | None = None
        l_end = Label()
        for j, (case, (kind, call, g), elem) in enumerate(zip(node.cases, cases, elems)):
            l_next = Label()
            self.state = entry.copy() if entry else None
            self.set_pos(case.guard)
            if j < len(cases) - 1:
                c = self.alloc("I")
                self.emit(Op.IEQ, c, idx, self.creg("I", j))
                self.emit(Op.JUMPIFNOT, c, l_next)
                self.free_temps()
            cs = self.push()
            if g is not None:
                if not isinstance(g.target, ast.Name):
                    self.fail(g.target, "the select variable must be a name")
                var = self.declare(g.target, g.target.id, elem)
                if var.f == "O":
                    self.emit(Op.INDEXI, var.r, res_h, self.creg("I", 1))
                else:
                    t = self.alloc("O")
                    self.emit(Op.INDEXI, t, res_h, self.creg("I", 1))
                    self.emit(Op.UNBOXI if var.f == "I" else Op.UNBOXF, var.r, t)
                var.start = self.pc
                self.mark_assigned(var, None)
            for stmt in case.body:
                self.stmt(stmt)
            self.pop(cs)
            if self.state is not None:
                self.emit(Op.JUMP, l_end)
            out = join(out, self.state)
            self.place(l_next)
        self.place(l_end)
        self.pop(saved)
        self.state = out

    # -- conditions --------------------------------------------------------------------
    def cond(self, node: ast.expr, label: Label, jump_if: bool) -> None:
        """Jump to label when node's truth equals jump_if, else fall through."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self.cond(node.operand, label, not jump_if)
        if isinstance(node, ast.BoolOp):
            is_and = isinstance(node.op, ast.And)
            saved = self.state
            if is_and != jump_if:   # and+false / or+true: any operand decides
                for v in node.values:
                    self.cond(v, label, jump_if)
                    self.narrow_past(v, is_and)
            else:
                skip = Label()
                for v in node.values[:-1]:
                    self.cond(v, skip, not jump_if)
                    self.narrow_past(v, is_and)
                self.cond(node.values[-1], label, jump_if)
                self.place(skip)
            self.state = saved
            return
        if isinstance(node, ast.Constant) and type(node.value) is bool:
            if bool(node.value) == jump_if:
                self.emit(Op.JUMP, label)
            return
        top = dict(self.top)   # a condition may sit inside an expression with live temporaries
        v = self.truth(node)
        self.set_pos(node)
        self.emit(Op.JUMPIF if jump_if else Op.JUMPIFNOT, v.r, label)
        self.top = top
        self.boxes.clear()

    def narrow_past(self, operand: ast.expr, is_and: bool) -> None:
        """After an operand of and (or) the next ones see it true (false)."""
        facts = self.narrowing(operand)[0 if is_and else 1]
        if facts:
            self.state = self.apply(self.state, facts)

    def truth(self, node: ast.expr, dst: tuple | None = None) -> Val:
        """node's truth value (Python's rules) as a bool in an I register."""
        v = self.operand(node)
        if v.t == BOOL:
            return v
        self.set_pos(node)
        t = self.target("I", dst)
        if v.t == INT:
            self.emit(Op.INE, t, v.r, self.creg("I", 0))
        elif v.t == FLOAT:
            self.emit(Op.FNE, t, v.r, self.creg("F", 0.0))
        elif isinstance(v.t, HandleT) or v.t == ERROR or isinstance(v.t, DataclassT):
            self.fail(node, f"a value of type {v.t} is always true; test something else")
        else:
            self.emit(Op.TRUTHY, t, v.r)
        return Val(BOOL, "I", t)

    # -- expressions -------------------------------------------------------------------
    def ex(self, node: ast.expr, want: Type | None = None, dst: tuple | None = None,
           statement: bool = False) -> Val:
        method = getattr(self, "e_" + type(node).__name__, None)
        if method is None:
            self.fail(node, UNSUPPORTED_EXPR.get(type(node), f"{type(node).__name__} expressions are "
                                                             "not supported in flows"))
        if isinstance(node, (ast.Call, ast.Await)):
            return method(node, want, dst, statement)
        return method(node, want, dst)

    def operand(self, node: ast.expr, want: Type | None = None) -> Val:
        """node's value in its natural register file (read only)."""
        v = self.ex(node, want)
        if v.f != v.t.file:
            v = self.convert(v, v.t, node, "")
        return v

    def expect(self, node: ast.expr, t: Type, what: str) -> Val:
        v = self.operand(node, t)
        if v.t != t:
            if assignable(v.t, t):
                return self.convert(v, t, node, what)
            self.fail(node, f"{what} must be {t}, not {v.t}")
        return v

    def into(self, node: ast.expr, t: Type, reg: int, local: bool, what: str) -> Val:
        """Compile node so a value of type t ends in register reg of t's file."""
        v = self.ex(node, t, (t.file, reg, local))
        return self.convert(v, t, node, what, reg)

    def boxed(self, node: ast.expr, t: Type, what: str, reg: int | None = None) -> int:
        """node's value of type t as an object register (reg if given)."""
        if reg is None:
            v = self.ex(node, t)
            return self.convert(v, t, node, what, None, boxed=True).r
        v = self.ex(node, t, ("O", reg, False))
        self.convert(v, t, node, what, reg, boxed=True)
        return reg

    def convert(self, v: Val, t: Type, node: ast.expr, what: str, reg: int | None = None,
                boxed: bool = False) -> Val:
        if not assignable(v.t, t):
            self.fail(node, f"{what}: expected {t}, got {v.t}" if what else f"expected {t}, got {v.t}")
        want = "O" if boxed else t.file
        if v.t == INT and t == FLOAT:
            if v.f == "O":
                i = self.alloc("I")
                self.emit(Op.UNBOXI, i, v.r)
                v = Val(INT, "I", i)
            fr = reg if reg is not None and want == "F" else self.alloc("F")
            self.emit(Op.ITOF, fr, v.r)
            v = Val(FLOAT, "F", fr)
        if v.f == want:
            if reg is not None and reg != v.r:
                self.emit(MOVES[want], reg, v.r)
                return Val(v.t, want, reg)
            return v
        if want == "O":
            op = Op.BOXF if v.f == "F" else Op.BOXB if v.t == BOOL else Op.BOXI
            key = (v.f, v.r, op)
            if reg is None and v.f == "I" and self.pristine.get(v.r, (0, None))[1] == v.t:
                return Val(v.t, "O", self.pristine[v.r][0])
            stable = v.r >= CBASE or v.r < self.local_top[v.f]   # a local or a constant
            if reg is None and stable and key in self.boxes:
                return Val(v.t, "O", self.boxes[key])
            r = reg if reg is not None else self.alloc(want)
            self.emit(op, r, v.r)
            if reg is None and stable:
                self.boxes[key] = r
            return Val(v.t, want, r)
        r = reg if reg is not None else self.alloc(want)
        self.emit(Op.UNBOXI if want == "I" else Op.UNBOXF, r, v.r)
        return Val(v.t, want, r)

    def e_Constant(self, node: ast.Constant, want: Type | None, dst: tuple | None) -> Val:
        v = node.value
        if v is None:
            if dst is not None and dst[0] == "O":
                self.emit(Op.LOADNONE, dst[1])
                return Val(NONE, "O", dst[1])
            return Val(NONE, "O", self.creg("O", None))
        if type(v) is bool:
            if dst is not None and dst[0] == "I":
                self.emit(Op.LOADI, dst[1], int(v))
                return Val(BOOL, "I", dst[1])
            return Val(BOOL, "I", self.creg("I", int(v)))
        if type(v) is int and want == FLOAT and (dst is None or dst[0] == "F") and abs(v) <= 2 ** 53:
            return self.e_Constant(ast.copy_location(ast.Constant(float(v)), node), want, dst)
        if type(v) is int:
            if dst is not None and dst[0] == "I":
                if INT32[0] <= v <= INT32[1]:
                    self.emit(Op.LOADI, dst[1], v)
                else:
                    self.emit(Op.LOADKI, dst[1], self.const(v))
                return Val(INT, "I", dst[1])
            if dst is not None and dst[0] == "O":
                self.emit(Op.LOADK, dst[1], self.const(v))
                return Val(INT, "O", dst[1])
            return Val(INT, "I", self.creg("I", v))
        if type(v) is float:
            if dst is not None and dst[0] == "F":
                self.emit(Op.LOADKF, dst[1], self.const(v))
                return Val(FLOAT, "F", dst[1])
            if dst is not None and dst[0] == "O":
                self.emit(Op.LOADK, dst[1], self.const(v))
                return Val(FLOAT, "O", dst[1])
            return Val(FLOAT, "F", self.creg("F", v))
        if type(v) in (str, bytes):
            t = STR if type(v) is str else BYTES
            if dst is not None and dst[0] == "O":
                self.emit(Op.LOADK, dst[1], self.const(v))
                return Val(t, "O", dst[1])
            return Val(t, "O", self.creg("O", v))
        self.fail(node, f"{type(v).__name__} literals are not supported in flows")

    def e_Name(self, node: ast.Name, want: Type | None, dst: tuple | None) -> Val:
        var = self.lookup(node.id)
        if var is not None:
            if self.state is not None and var not in self.state.assigned:
                self.fail(node, f"{node.id} is used before it is assigned; give it a value in its "
                                "declaration or on every path before this use")
            t = self.current(var)
            if t.file == var.f or (dst is not None and dst[0] == var.f):
                return Val(t, var.f, var.r)
            return self.convert(Val(t, var.f, var.r), t, node, "", dst[1] if dst and dst[0] == t.file else None)
        kind, obj = self.env.lookup(node.id)
        if kind == "live" and type(obj) in (int, float, str, bytes, bool):
            return self.e_Constant(ast.copy_location(ast.Constant(obj), node), want, dst)
        if kind == "later" and isinstance(obj, ast.Constant):
            return self.e_Constant(ast.copy_location(ast.Constant(obj.value), node), want, dst)
        if kind == "missing":
            self.fail(node, f"{node.id} is not defined")
        if kind == "later" or callable(obj) or kind == "builtin":
            self.fail(node, f"{node.id} cannot be used as a value in a flow; call it")
        self.fail(node, f"{node.id} is a {type(obj).__name__}; flows can only read module-level int, "
                        "float, str, bytes and bool constants")

    def e_BinOp(self, node: ast.BinOp, want: Type | None, dst: tuple | None) -> Val:
        opt = type(node.op)
        if opt not in ARITH:
            self.fail(node, f"the operator {OPSYM.get(opt, '?')} is not supported in flows; use a @pure function")
        iop, fop, oop = ARITH[opt]
        # a literal next to a float operand becomes a float constant
        if isinstance(node.left, ast.Constant) and not isinstance(node.right, ast.Constant):
            r = self.operand(node.right)
            l = self.operand(node.left, FLOAT if r.t == FLOAT else None)
        else:
            l = self.operand(node.left)
            if opt in (ast.Add, ast.Sub) and l.t == INT and isinstance(node.right, ast.Constant) \
                    and type(node.right.value) is int:
                imm = node.right.value if opt is ast.Add else -node.right.value
                if INT32[0] <= imm <= INT32[1]:
                    t = self.target("I", dst)
                    self.set_pos(node)
                    self.emit(Op.IADDI, t, l.r, imm)
                    return Val(INT, "I", t)
            r = self.operand(node.right, FLOAT if l.t == FLOAT else l.t)
        self.set_pos(node)
        sym = OPSYM[opt]
        lt, rt = l.t, r.t
        if lt == BOOL or rt == BOOL:
            if lt in (INT, BOOL, FLOAT) and rt in (INT, BOOL, FLOAT):
                self.fail(node, f"arithmetic on bool is not supported; convert with int(...) first")
        if lt == INT and rt == INT:
            neg = node.right
            if opt is ast.Pow and isinstance(neg, ast.UnaryOp) and isinstance(neg.op, ast.USub) \
                    and isinstance(neg.operand, ast.Constant):
                self.fail(node, "int ** negative int is a float in Python; write float(x) ** -n")
            if opt is ast.Div:
                t = self.target("F", dst)
                self.emit(Op.IDIV, t, l.r, r.r)
                return Val(FLOAT, "F", t)
            t = self.target("I", dst)
            self.emit(iop, t, l.r, r.r)
            return Val(INT, "I", t)
        if lt in (INT, FLOAT) and rt in (INT, FLOAT):
            if lt == INT:
                l = self.convert(l, FLOAT, node.left, "")
            if rt == INT:
                r = self.convert(r, FLOAT, node.right, "")
            t = self.target("F", dst)
            self.emit(fop, t, l.r, r.r)
            return Val(FLOAT, "F", t)
        if getattr(node, "inplace", False) and isinstance(lt, ListT) and (
                opt is ast.Add and lt == rt or opt is ast.Mult and rt == INT):
            # like Python, += and *= change the list every alias sees
            base = self.alloc("O", 2)
            self.convert(l, lt, node.left, "", base, boxed=True)
            self.convert(r, rt, node.right, "", base + 1, boxed=True)
            fn = "iadd" if opt is ast.Add else "imul"
            return self.call_helper(node, fn, base, 2, lt, dst)
        if opt is ast.Add and lt == rt and (lt in (STR, BYTES) or isinstance(lt, ListT)):
            t = self.target("O", dst)
            self.emit(Op.ADD, t, l.r, r.r)
            return Val(lt, "O", t)
        if opt is ast.Mult and ((lt in (STR, BYTES) or isinstance(lt, ListT)) and rt == INT
                                or (rt in (STR, BYTES) or isinstance(rt, ListT)) and lt == INT):
            lb = self.convert(l, lt, node.left, "", boxed=True)
            rb = self.convert(r, rt, node.right, "", boxed=True)
            t = self.target("O", dst)
            self.emit(Op.MUL, t, lb.r, rb.r)
            return Val(lt if lt != INT else rt, "O", t)
        hint = "; narrow it with isinstance first" if isinstance(lt, UnionT) or isinstance(rt, UnionT) else ""
        if number_union(lt) or number_union(rt):
            hint = ("; min/max of mixed numbers return one argument as it is, as in Python: "
                    "convert it with float(...) or int(...), or narrow it with isinstance")
        if opt is ast.Mod and lt == STR:
            hint = "; use an f-string"
        self.fail(node, f"unsupported operand types for {sym}: {lt} and {rt}{hint}")

    def e_UnaryOp(self, node: ast.UnaryOp, want: Type | None, dst: tuple | None) -> Val:
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                and type(node.operand.value) in (int, float):
            return self.e_Constant(ast.copy_location(ast.Constant(-node.operand.value), node), want, dst)
        if isinstance(node.op, ast.Not):
            v = self.truth(node.operand)
            t = self.target("I", dst)
            self.emit(Op.NOT, t, v.r)
            return Val(BOOL, "I", t)
        v = self.operand(node.operand)
        self.set_pos(node)
        if isinstance(node.op, (ast.USub, ast.UAdd)) and v.t in (INT, FLOAT):
            if isinstance(node.op, ast.UAdd):
                return v
            t = self.target(v.f, dst)
            self.emit(Op.INEG if v.t == INT else Op.FNEG, t, v.r)
            return Val(v.t, v.f, t)
        sym = {ast.USub: "-", ast.UAdd: "+", ast.Invert: "~"}[type(node.op)]
        self.fail(node, f"bad operand type for unary {sym}: {v.t}")

    def e_BoolOp(self, node: ast.BoolOp, want: Type | None, dst: tuple | None) -> Val:
        t = self.target("I", dst, safe=True)
        end = Label()
        saved = self.state
        for i, e in enumerate(node.values):
            if i:
                self.narrow_past(node.values[i - 1], isinstance(node.op, ast.And))
            v = self.ex(e, None, ("I", t, False))
            if v.t != BOOL:
                word = "and" if isinstance(node.op, ast.And) else "or"
                self.fail(e, f"{word} needs bool operands, not {v.t}; compare explicitly, e.g. x != 0")
            if v.r != t:
                self.emit(Op.MOVEI, t, v.r)
            if i < len(node.values) - 1:
                self.emit(Op.JUMPIFNOT if isinstance(node.op, ast.And) else Op.JUMPIF, t, end)
        self.state = saved
        self.place(end)
        return Val(BOOL, "I", t)

    def e_IfExp(self, node: ast.IfExp, want: Type | None, dst: tuple | None) -> Val:
        l_else, l_end = Label(), Label()
        self.cond(node.test, l_else, False)
        a = self.operand(node.body, want)
        t = want if want is not None and assignable(a.t, want) else a.t
        r = self.target(t.file, dst, safe=True)
        self.convert(a, t, node.body, "both branches of a conditional expression must have one type", r)
        self.emit(Op.JUMP, l_end)
        self.place(l_else)
        b = self.operand(node.orelse, t)
        self.convert(b, t, node.orelse, "both branches of a conditional expression must have one type", r)
        self.place(l_end)
        return Val(t, t.file, r)

    def e_Compare(self, node: ast.Compare, want: Type | None, dst: tuple | None) -> Val:
        if len(node.ops) == 1:
            t = self.target("I", dst)
            self.compare(node.left, node.ops[0], node.comparators[0], t, node)
            return Val(BOOL, "I", t)
        t = self.target("I", dst, safe=True)
        end = Label()
        left, lval = node.left, None
        for i, (op, right) in enumerate(zip(node.ops, node.comparators)):
            lval = self.compare(left, op, right, t, node, lval)   # a middle operand is evaluated once
            if i < len(node.ops) - 1:
                self.emit(Op.JUMPIFNOT, t, end)
            left = right
        self.place(end)
        return Val(BOOL, "I", t)

    def compare(self, ln: ast.expr, op: ast.cmpop, rn: ast.expr, t: int, node: ast.AST,
                lval: Val | None = None) -> Val:
        """I[t] = ln op rn (ln already compiled to lval in a chain); rn's value."""
        is_none = isinstance(rn, ast.Constant) and rn.value is None
        if isinstance(op, (ast.Is, ast.IsNot)) or (is_none and isinstance(op, (ast.Eq, ast.NotEq))):
            if not is_none:
                self.fail(node, "is and is not only compare with None; use == for values")
            l = lval or self.operand(ln)
            if l.f != "O" or NONE not in members(l.t):
                self.fail(node, f"a value of type {l.t} is never None")
            self.set_pos(node)
            self.emit(Op.ISNONE, t, l.r)
            if isinstance(op, (ast.IsNot, ast.NotEq)):
                self.emit(Op.NOT, t, t)
            return Val(NONE, "O", self.creg("O", None))
        if isinstance(op, (ast.In, ast.NotIn)):
            if isinstance(rn, ast.Tuple):   # x in ("a", "b"): the idiom reads as a list
                rn = ast.copy_location(ast.List(rn.elts, ast.Load()), rn)
            if lval is None and not isinstance(ln, (ast.Constant, ast.Name, ast.List, ast.Dict)):
                lval = self.operand(ln)     # Python evaluates the left side first (a call may fault)
            r = self.operand(rn)
            if isinstance(r.t, ListT):
                et = r.t.elem
            elif isinstance(r.t, DictT):
                et = r.t.key
            elif r.t in (STR, BYTES):
                et = r.t if r.t == STR else union(BYTES, INT)
            else:
                self.fail(rn, f"in needs a list, dict, str or bytes on the right, not {r.t}")
            if lval is None and isinstance(ln, ast.Name) and _numberish(et):
                lval = self.operand(ln)
            if lval is not None and _numberish(lval.t) and _numberish(et) and not assignable(lval.t, et):
                # in compares with ==, exact across bool, int and float: 1 in [True] as in Python
                lb = self.convert(lval, lval.t, ln, "the left operand of in", boxed=True).r
            else:
                lb = self.convert(lval, et, ln, "the left operand of in", boxed=True).r if lval else \
                    self.boxed(ln, et, "the left operand of in")
            self.set_pos(node)
            self.emit(Op.IN, t, lb, r.r)
            if isinstance(op, ast.NotIn):
                self.emit(Op.NOT, t, t)
            return r
        iop, fop, oop = COMPARE[type(op)]

        def beside(v: Val, n: ast.expr) -> Type | None:
            # only a literal becomes a float next to a float: an int expression (x if c else 10 ** 400)
            # must compare exactly, not be converted first
            return FLOAT if v.t == FLOAT and isinstance(n, ast.Constant) else None
        if lval is not None:
            l = lval
            r = self.operand(rn, beside(l, rn))
        elif isinstance(ln, ast.Constant) and not isinstance(rn, ast.Constant):
            r = self.operand(rn)
            l = self.operand(ln, beside(r, ln))
        else:
            l = self.operand(ln)
            r = self.operand(rn, beside(l, rn))
        self.set_pos(node)
        lt, rt = l.t, r.t
        if lt in (INT, BOOL) and rt in (INT, BOOL) and (lt == rt or isinstance(op, (ast.Eq, ast.NotEq))):
            self.emit(iop, t, l.r, r.r)
        elif lt == FLOAT and rt == FLOAT:
            self.emit(fop, t, l.r, r.r)
        elif _number(lt) and _number(rt):
            # Python compares an int and a float exactly: float(i) could round or overflow
            lb = self.convert(l, lt, ln, "", boxed=True)
            rb = self.convert(r, rt, rn, "", boxed=True)
            self.emit(oop, t, lb.r, rb.r)
        elif isinstance(op, (ast.Eq, ast.NotEq)) and (assignable(lt, rt) or assignable(rt, lt) or (
                _numberish(lt) and _numberish(rt))):
            # == across bool, int and float is Python's exact comparison (1 == True == 1.0)
            lb = self.convert(l, lt, ln, "", boxed=True)
            rb = self.convert(r, rt, rn, "", boxed=True)
            self.emit(oop, t, lb.r, rb.r)
        elif lt == rt and (lt in (STR, BYTES) or isinstance(lt, ListT)):
            self.emit(oop, t, l.r, r.r)
        else:
            self.fail(node, f"cannot compare {lt} and {rt}")
        return r

    def e_Await(self, node: ast.Await, want: Type | None, dst: tuple | None, statement: bool) -> Val:
        if not isinstance(node.value, ast.Call):
            self.fail(node, "await needs a durable operation, an @impure function or a flow call")
        return self.e_Call(node.value, want, dst, statement, awaited=node)

    def e_Attribute(self, node: ast.Attribute, want: Type | None, dst: tuple | None) -> Val:
        obj = self.env.attr_object(node) if self.lookup(_root(node)) is None else None
        if obj is not None and type(obj) in (int, float, str, bytes, bool):
            return self.e_Constant(ast.copy_location(ast.Constant(obj), node), want, dst)
        if self.lookup(_root(node)) is None and _root(node):
            self.fail(node, f"{ast.unparse(node)} cannot be used as a value in a flow")
        v = self.operand(node.value)
        self.set_pos(node)
        if isinstance(v.t, ErrorT) and node.attr in ("message", "kind"):
            ft: Type = STR
        elif isinstance(v.t, ErrorT) and node.attr == "code":
            ft = INT
        elif isinstance(v.t, DataclassT):
            ft = self.field_type(v.t, node.attr, node)
        else:
            hint = "; narrow it with isinstance first" if isinstance(v.t, UnionT) else ""
            self.fail(node, f"{v.t} has no attribute {node.attr}{hint}")
        if ft.file == "O":
            t = self.target("O", dst)
            self.emit(Op.GETATTR, t, v.r, self.const(node.attr))
            return Val(ft, "O", t)
        tmp = self.alloc("O")
        self.emit(Op.GETATTR, tmp, v.r, self.const(node.attr))
        return self.convert(Val(ft, "O", tmp), ft, node, "", dst[1] if dst and dst[0] == ft.file else None)

    def field_type(self, t: DataclassT, name: str, node: ast.AST) -> Type:
        for fname, ft in t.fields or ():
            if fname == name:
                return ft
        self.fail(node, f"dataclass {t.name} has no field {name}")

    def e_Subscript(self, node: ast.Subscript, want: Type | None, dst: tuple | None) -> Val:
        if isinstance(node.slice, ast.Slice):
            self.fail(node.slice, UNSUPPORTED_EXPR[ast.Slice])
        c = self.operand(node.value)
        if isinstance(c.t, ListT) or c.t in (STR, BYTES):
            i = self.expect(node.slice, INT, "an index")
            et = c.t.elem if isinstance(c.t, ListT) else (STR if c.t == STR else INT)
            self.set_pos(node)
            r = self.target("O", dst) if et.file == "O" else self.alloc("O")
            self.emit(Op.INDEXI, r, c.r, i.r)
        elif isinstance(c.t, DictT):
            k = self.boxed(node.slice, c.t.key, "a dict key")
            et = c.t.value
            self.set_pos(node)
            r = self.target("O", dst) if et.file == "O" else self.alloc("O")
            self.emit(Op.INDEX, r, c.r, k)
        else:
            hint = "; narrow it with isinstance first" if isinstance(c.t, UnionT) else ""
            self.fail(node, f"{c.t} cannot be indexed{hint}")
        if et.file == "O":
            return Val(et, "O", r)
        return self.convert(Val(et, "O", r), et, node, "", dst[1] if dst and dst[0] == et.file else None)

    def e_List(self, node: ast.List, want: Type | None, dst: tuple | None) -> Val:
        if isinstance(want, UnionT):
            want = next((m for m in want.members if isinstance(m, ListT)), None)
        if isinstance(want, ListT):
            et = want.elem
        elif node.elts:
            et = self.peek_type(node.elts[0])
        else:
            self.fail(node, "an empty list needs a type; declare the variable with it, e.g. xs: list[int] = []")
        base = self.alloc("O", len(node.elts))
        for i, e in enumerate(node.elts):
            self.boxed(e, et, "list elements must have one type", base + i)
        self.set_pos(node)
        r = self.target("O", dst)
        self.emit(Op.BUILDLIST, r, base, len(node.elts))
        return Val(ListT(et), "O", r)

    def peek_type(self, node: ast.expr) -> Type:
        """The type of node, compiled into code that is thrown away."""
        n, saved_top, saved_max, saved_boxes = len(self.insns), dict(self.top), dict(self.maxr), dict(self.boxes)
        v = self.ex(node)
        del self.insns[n:], self.positions[n:]
        self.top, self.maxr, self.boxes = saved_top, saved_max, saved_boxes
        return v.t

    def e_Dict(self, node: ast.Dict, want: Type | None, dst: tuple | None) -> Val:
        if isinstance(want, UnionT):
            want = next((m for m in want.members if isinstance(m, DictT)), None)
        if any(k is None for k in node.keys):
            self.fail(node, "** in dict literals is not supported in flows")
        if isinstance(want, DictT):
            kt, vt = want.key, want.value
        elif node.keys:
            kt, vt = self.peek_type(node.keys[0]), self.peek_type(node.values[0])  # type: ignore[arg-type]
        else:
            self.fail(node, "an empty dict needs a type; declare the variable with it, e.g. d: dict[str, int] = {}")
        base = self.alloc("O", 2 * len(node.keys))
        for i, (k, v) in enumerate(zip(node.keys, node.values)):
            self.boxed(k, kt, "dict keys must have one type", base + 2 * i)  # type: ignore[arg-type]
            self.boxed(v, vt, "dict values must have one type", base + 2 * i + 1)
        self.set_pos(node)
        r = self.target("O", dst)
        self.emit(Op.BUILDDICT, r, base, len(node.keys))
        return Val(DictT(kt, vt), "O", r)

    def e_ListComp(self, node: ast.ListComp, want: Type | None, dst: tuple | None) -> Val:
        return self.comprehension(node, want, dst, ListT)

    def e_DictComp(self, node: ast.DictComp, want: Type | None, dst: tuple | None) -> Val:
        return self.comprehension(node, want, dst, DictT)

    def comprehension(self, node: ast.ListComp | ast.DictComp, want: Type | None, dst: tuple | None,
                      cls: type) -> Val:
        """[e for x in xs if c] compiles as the loop it stands for, into a new list (dict)."""
        if isinstance(want, UnionT):
            want = next((m for m in want.members if isinstance(m, cls)), None)
        what = "list" if cls is ListT else "dict"
        if not isinstance(want, cls):
            self.fail(node, f"a {what} comprehension needs its type from a declaration, "
                            f"e.g. {'ys: list[int]' if cls is ListT else 'd: dict[str, int]'} = ...; "
                            "or use a for loop")
        if len(node.generators) != 1 or node.generators[0].is_async:
            self.fail(node, "comprehensions in flows take exactly one for clause; nest for loops instead")
        gen = node.generators[0]
        r = self.target("O", dst, safe=True)
        self.set_pos(node)
        self.emit(Op.BUILDLIST if cls is ListT else Op.BUILDDICT, r, r, 0)
        saved_local, saved_state = dict(self.local_top), self.state
        self.local_top = dict(self.top)   # the statements of the loop must not reuse our temporaries
        scope = self.push()
        name = f"comprehension@{self.pc}"
        acc = Var(name, want, r, *self.src.position(node), self.pc)
        self.scopes[-1][name] = acc
        self.mark_assigned(acc, None)

        def at(n: ast.AST, like: ast.AST) -> Any:
            return ast.fix_missing_locations(ast.copy_location(n, like))
        if isinstance(node, ast.ListComp):
            store: ast.stmt = at(ast.Expr(at(ast.Call(at(ast.Attribute(at(ast.Name(name, ast.Load()), node),
                                                                     "append", ast.Load()), node.elt),
                                                      [node.elt], []), node.elt)), node.elt)
        else:
            store = at(ast.Assign([at(ast.Subscript(at(ast.Name(name, ast.Load()), node), node.key, ast.Store()),
                                      node.key)], node.value), node.key)
        for cond in reversed(gen.ifs):
            store = at(ast.If(cond, [store], []), cond)
        loop = at(ast.For(gen.target, gen.iter, [store], []), node)
        try:
            self.s_For(loop)
        finally:
            self.pop(scope)
            self.local_top = saved_local
            self.state = saved_state
        return Val(want, "O", r)

    def e_JoinedStr(self, node: ast.JoinedStr, want: Type | None, dst: tuple | None) -> Val:
        parts = node.values
        base = self.alloc("O", len(parts))
        for i, part in enumerate(parts):
            r = base + i
            if isinstance(part, ast.Constant):
                self.emit(Op.LOADK, r, self.const(part.value))
                continue
            assert isinstance(part, ast.FormattedValue)
            v = self.ex(part.value, None, ("O", r, False))
            self.convert(v, v.t, part.value, "", r, boxed=True)
            spec = ""
            if part.format_spec is not None:
                dynamic = [s for s in part.format_spec.values if not isinstance(s, ast.Constant)]  # type: ignore[attr-defined]
                if dynamic:
                    self.fail(getattr(dynamic[0], "value", dynamic[0]),
                              "format specs in flows must be constant, e.g. {x:.2f}")
                spec = "".join(s.value for s in part.format_spec.values)  # type: ignore[attr-defined]
            self.set_pos(part)
            if part.conversion == ord("r"):
                self.emit(Op.CALL, r, self.const(CallTarget("builtin", "builtin:repr", 1)), r)
            elif part.conversion == ord("a"):
                self.fail(part.value, "!a conversions are not supported in flows")
            if spec or (v.t != STR and part.conversion == -1) or part.conversion == ord("s"):
                self.emit(Op.FORMAT, r, r, self.const(spec))
        self.set_pos(node)
        t = self.target("O", dst)
        self.emit(Op.JOINSTR, t, base, len(parts))
        return Val(STR, "O", t)


EFFECT_KINDS = frozenset({
    "sleep", "impure", "http_request", "http_listen", "new_queue", "queue_put", "queue_get", "select",
    "new_lock", "lock_acquire", "lock_release", "new_waitgroup", "wg_add", "wg_done", "wg_wait", "create_task"})
# what a constant operand must be; CALLFLOW's is a FlowRef until linking makes it a code index
CONST_KINDS: dict[Op, tuple] = {
    Op.LOADKI: (int,), Op.LOADKF: (float, int), Op.ISINSTANCE: (TypeTest,), Op.GETATTR: (str,),
    Op.SETATTR: (str,), Op.FORMAT: (str,), Op.CALL: (CallTarget,), Op.CALLFLOW: (int, FlowRef),
    Op.EFFECT: (EffectSpec,),
}
_OPS = {int(op) for op in Op}


def verify(code: Code) -> str | None:
    """What is wrong with one code object, or None. Checks every operand against its file's
    register count, register ranges and call/effect argument blocks inside the O file,
    constant indexes and kinds, jump targets, that control cannot run off the end, the line
    table (one in-range position per instruction) and the locals' debug info."""
    n = len(code.insns) // 4
    if n == 0 or len(code.insns) % 4:
        return f"{len(code.insns)} instruction words, want a positive multiple of 4"
    size = {"O": code.n_o, "I": code.n_i, "F": code.n_f}
    if min(size.values()) < 0:
        return f"negative register count {size}"
    if len(code.params) > code.n_o:
        return f"{len(code.params)} parameters but only {code.n_o} O registers"
    for pc in range(n):
        if code.insns[4 * pc] not in _OPS:
            return f"pc {pc}: unknown opcode {code.insns[4 * pc]}"
        op = Op(code.insns[4 * pc])
        ops = code.insns[4 * pc + 1: 4 * pc + 4]
        kinds = CONST_KINDS.get(op)
        if kinds is not None:
            k = ops[CONST_OPERAND[op]]
            if not 0 <= k < len(code.consts):
                return f"pc {pc} {op.name}: constant {k} outside the {len(code.consts)} constants"
            if not isinstance(code.consts[k], kinds) or isinstance(code.consts[k], bool):
                return f"pc {pc} {op.name}: constant {k} is a {type(code.consts[k]).__name__}"
        nargs = code.consts[ops[1]].nargs if op in (Op.CALL, Op.EFFECT) else None
        if op == Op.EFFECT and code.consts[ops[1]].kind not in EFFECT_KINDS:
            return f"pc {pc} EFFECT: unknown effect kind {code.consts[ops[1]].kind!r}"
        if nargs is not None and nargs < 0:
            return f"pc {pc} {op.name}: negative argument count {nargs}"
        for k, f in enumerate(REGISTER_FILES[op]):
            x = ops[k]
            if f in size:
                # an empty BUILD* window may start anywhere; an empty argument window too
                # names no register, but the VM's loader checks its start like any operand
                empty = op in RANGE_OPERAND and k == RANGE_OPERAND[op][0] and ops[RANGE_OPERAND[op][1]] == 0
                if not empty and not 0 <= x < size[f]:
                    return f"pc {pc} {op.name}: {f}{x} outside {f}[0..{size[f]})"
            elif k == CONST_OPERAND.get(op) and not 0 <= x < len(code.consts):
                return f"pc {pc} {op.name}: constant {x} outside the {len(code.consts)} constants"
            elif k == JUMP_OPERAND.get(op) and not 0 <= x < n:
                return f"pc {pc} {op.name}: jump target {x} outside the code"
        if op in RANGE_OPERAND:
            first, count = RANGE_OPERAND[op]
            if ops[count] < 0:
                return f"pc {pc} {op.name}: negative register count {ops[count]}"
            width = ops[count] * (2 if op == Op.BUILDDICT else 1)
            if ops[first] + width > code.n_o:
                return f"pc {pc} {op.name}: O{ops[first]}..+{width} outside O[0..{code.n_o})"
        if nargs and ops[2] + nargs > code.n_o:
            return f"pc {pc} {op.name}: arguments O{ops[2]}..+{nargs} outside O[0..{code.n_o})"
    if Op(code.insns[4 * (n - 1)]) not in TERMINATORS:
        return f"pc {n - 1} {Op(code.insns[4 * (n - 1)]).name}: control runs off the end of the code"
    if len(code.positions) != 2 * n:
        return f"the line table has {len(code.positions)} words for {n} instructions"
    last = code.firstlineno + max(len(code.source.splitlines()), 1) - 1
    for pc in range(n):
        line, col = code.positions[2 * pc], code.positions[2 * pc + 1]
        if not code.firstlineno <= line <= last or col < 1:
            return f"pc {pc}: position {line}:{col} outside the flow's lines {code.firstlineno}..{last}"
    for v in code.locals:
        if v.file not in size or not 0 <= v.reg < size[v.file]:
            return f"local {v.name}: {v.file}{v.reg} outside the code's registers"
        if not 0 <= v.start_pc <= v.end_pc <= n:
            return f"local {v.name}: live range {v.start_pc}..{v.end_pc} outside 0..{n}"
    return None


def verify_program(program: Any) -> str | None:
    """verify() for every code, plus what needs the whole program: the entry, CALLFLOW and
    create_task targets, and their argument blocks against the callee's parameters."""
    codes = program.codes
    if not 0 <= program.entry < len(codes):
        return f"entry {program.entry} outside the {len(codes)} codes"
    for code in codes:
        problem = verify(code)
        if problem:
            return f"flow {code.name}: {problem}"
        for pc in range(len(code.insns) // 4):
            op, a, k, c = code.insns[4 * pc: 4 * pc + 4]
            if op == Op.CALLFLOW:
                target, nargs = code.consts[k], None
            elif op == Op.EFFECT and code.consts[k].kind == "create_task":
                target, nargs = code.consts[k].extra[0], code.consts[k].nargs
            else:
                continue
            if type(target) is not int or not 0 <= target < len(codes):
                return f"flow {code.name}: pc {pc} {Op(op).name} names code {target!r}, not one of {len(codes)}"
            want = len(codes[target].params)
            if nargs is not None and nargs != want:
                return f"flow {code.name}: pc {pc} create_task passes {nargs} arguments, {codes[target].name} takes {want}"
            if want and c + want > code.n_o:
                return f"flow {code.name}: pc {pc} {Op(op).name} arguments O{c}..+{want} outside O[0..{code.n_o})"
    return None


__all__ = ["FunctionCompiler", "verify", "verify_program"]
