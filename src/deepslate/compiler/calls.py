"""Calls in flows: resolving what a name calls (a flow, a @pure or @impure
function, a dataclass, a builtin, a durable operation, a dpslio primitive or
a method of a value), binding arguments, and emitting CALL, CALLFLOW, EFFECT
or the inline instruction a builtin needs."""
from __future__ import annotations

import ast
from typing import Any

from .._opcodes import Op
from .._types import (BOOL, BYTES, ERROR, FLOAT, INT, NONE, STR, DataclassT, DictT, ErrorT, handle_in,
                      HandleT, ListT, Type, UnionT, union)
from .._values import DSError, Lock, Queue, WaitGroup
from ..program.model import CallTarget, EffectSpec, TypeTest
from . import env as envmod
from .env import CompiledFlow, FlowRef, Sig, TypeErr
from .ir import CBASE, UNSUPPORTED_EXPR, Val, _Abort, _root, members, number_union

PY_BUILTINS = {"len", "range", "str", "int", "float", "abs", "min", "max", "print", "isinstance",
               "enumerate", "DSError"}
DURABLE_PARAMS = {
    "sleep": [("seconds", FLOAT)],
    "http_listen": [("method", STR), ("route", STR)],
    "http_request": [("method", STR), ("url", STR), ("headers", DictT(STR, STR)), ("body", BYTES)],
}
DRAWN = {"now": FLOAT, "random": FLOAT, "uuid4": STR}     # values drawn in the flow, kept by its snapshot
# http_request's per-call options: the fields of deepslate.HttpPolicy, keyword only
HTTP_OPTIONS = {"retries": INT, "backoff": FLOAT, "max_backoff": FLOAT, "connect_timeout": FLOAT,
                "read_timeout": FLOAT, "timeout": FLOAT, "max_response_bytes": INT}
# http_listen's optional keyword: the EFFECT then has a third argument, the seconds to wait
LISTEN_TIMEOUT = [("timeout", FLOAT)]


class CallCompiler:
    """The call half of ``FunctionCompiler`` (which provides emission, registers,
    expressions and errors)."""

    def e_Call(self, node: ast.Call, want: Type | None, dst: tuple | None, statement: bool = False,
               awaited: ast.Await | None = None) -> Val:
        func = node.func
        if type(func) in UNSUPPORTED_EXPR:
            self.fail(func, UNSUPPORTED_EXPR[type(func)])
        for a in node.args:
            if isinstance(a, ast.Starred):
                self.fail(a, "*args in calls is not supported in flows")
        for k in node.keywords:
            if k.arg is None:
                self.fail(k, "**kwargs in calls is not supported in flows")
        kind, what = self.callee(func)
        durable = kind in ("flow", "impure", "durable", "dpslio", "method")   # methods check for themselves
        self.awaited = awaited
        if awaited is not None and not durable:
            self.fail(awaited, f"await needs a durable operation, an @impure function or a flow call; "
                               f"{ast.unparse(func)} is not one")
        return getattr(self, "call_" + kind)(node, what, want, dst)

    def callee(self, func: ast.expr) -> tuple[str, Any]:
        if isinstance(func, ast.Subscript):
            base = func.value
            obj = self.global_object(base)
            if obj is envmod._builtins.json_unmarshal or (obj is None and isinstance(base, ast.Name)
                                                          and base.id == "json_unmarshal"):
                return "unmarshal", self.typ(func.slice)
            if obj is Queue:
                return "dpslio", ("Queue", self.typ(func.slice))
            self.fail(func, f"{ast.unparse(func)} cannot be called in a flow")
        if isinstance(func, ast.Attribute):
            if self.lookup(_root(func)) is None and _root(func):
                obj = self.env.attr_object(func)
                if obj is None:
                    base = self.env.attr_object(func.value)
                    if base is None:
                        self.fail(func, f"{ast.unparse(func.value)} is not defined")
                    self.fail(func, f"{ast.unparse(func)} is not defined")
                return self.classify(obj, ast.unparse(func), func)
            return "method", (func.attr, func)
        if isinstance(func, ast.Name):
            if self.lookup(func.id) is not None:
                self.fail(func, f"{func.id} is a variable, not a function")
            kind, obj = self.env.lookup(func.id)
            if kind == "live":
                return self.classify(obj, func.id, func)
            if kind == "later":
                if isinstance(obj, ast.Constant):
                    tname = type(obj.value).__name__
                    self.fail(func, f"{func.id} is {'an' if tname[0] in 'aeiou' else 'a'} {tname} constant, "
                                    "not a function")
                if isinstance(obj, ast.ClassDef):
                    try:
                        return "dataclass", self.env.dataclass_from_ast(obj, func)
                    except TypeErr as e:
                        self.fail(func, e.msg)
                try:
                    sig = self.env.sig_from_ast(obj)
                except TypeErr as e:
                    self.fail(func, e.msg)
                if sig is None:
                    self.fail(func, f"{func.id} is not a flow function; mark a Python function "
                                    "@pure or @impure to call it from a flow")
                return sig.kind, sig
            if func.id in PY_BUILTINS:
                return "builtin", func.id
            if func.id in envmod._builtins.DURABLE:
                return "durable", func.id
            if kind == "builtin":
                self.fail(func, f"{func.id}() is not available in flows; call it from a @pure function")
            self.fail(func, f"{func.id} is not defined")
        self.fail(func, "only named functions can be called in flows")

    def global_object(self, node: ast.expr) -> Any:
        if _root(node) and self.lookup(_root(node)) is None:
            return self.env.attr_object(node)
        return None

    def classify(self, obj: Any, name: str, node: ast.AST) -> tuple[str, Any]:
        if isinstance(obj, CompiledFlow):
            if obj.errors:   # only while collecting errors (deepslate check)
                self.fail(node, f"flow {obj.name} does not compile; fix its errors first")
            return "flow", obj.sig
        m = envmod.marker(obj)
        if m is not None and m.get("kind") in ("pure", "impure"):
            try:
                return m["kind"], self.env.sig_from_function(obj, m["kind"])
            except TypeErr as e:
                self.fail(node, e.msg)
        if isinstance(obj, type) and envmod.dataclasses.is_dataclass(obj):
            try:
                return "dataclass", self.env.dataclass_from_class(obj)
            except TypeErr as e:
                self.fail(node, e.msg)
        if obj is DSError:
            return "builtin", "DSError"
        for dname, dobj in envmod._builtins.DURABLE.items():
            if obj is dobj:
                return "durable", dname
        if obj is envmod.dpslio.create_task:
            return "dpslio", ("create_task", None)
        if obj in (Lock, WaitGroup):
            return "dpslio", (obj.__name__, None)
        if obj is Queue:
            self.fail(node, "dpslio.Queue needs its element type, e.g. dpslio.Queue[int]()")
        hint = "; for a durable sleep use deepslate's sleep(seconds)" if name.endswith("sleep") else ""
        self.fail(node, f"{name} is not a flow function; mark a Python function @pure or @impure "
                        f"to call it from a flow{hint}")

    def bind(self, node: ast.Call, params: list[tuple[str, Type]], fname: str,
             defaults: dict | None = None) -> list[ast.expr]:
        if len(node.args) > len(params):
            self.fail(node.args[len(params)], f"{fname} takes {len(params)} argument"
                                              f"{'' if len(params) == 1 else 's'} but {len(node.args)} were given")
        args: list[ast.expr | None] = list(node.args) + [None] * (len(params) - len(node.args))
        names = [p for p, _ in params]
        for k in node.keywords:
            if k.arg not in names:
                self.fail(k, f"{fname} has no parameter named {k.arg}")
            i = names.index(k.arg)  # type: ignore[arg-type]
            if args[i] is not None:
                self.fail(k, f"{fname} got argument {k.arg} twice")
            args[i] = k.value
        for i, a in enumerate(args):
            if a is None and defaults and names[i] in defaults:
                args[i] = ast.copy_location(ast.Constant(defaults[names[i]]), node)
            elif a is None:
                self.fail(node, f"{fname} is missing argument {names[i]}")
        return args  # type: ignore[return-value]

    def arg_block(self, args: list[ast.expr], params: list[tuple[str, Type]], fname: str) -> int:
        if not args:        # names no register: the next free one may lie past the frame's last
            return 0
        if len(args) == 1:  # a one-register block can be the value's own register
            return self.boxed(args[0], params[0][1], f"argument {params[0][0]} of {fname}")
        base = self.alloc("O", len(args))
        # in source order, as Python evaluates them (keywords may name later parameters first)
        order = sorted(range(len(args)), key=lambda i: (args[i].lineno, args[i].col_offset))
        for i in order:
            pname, pt = params[i]
            self.boxed(args[i], pt, f"argument {pname} of {fname}", base + i)
        return base

    def result(self, t: Type, dst: tuple | None, emit_into) -> Val:
        """Emit an instruction writing an object into a register, then unbox if needed."""
        if t.file == "O":
            r = self.target("O", dst)
            emit_into(r)
            return Val(t, "O", r)
        r = self.alloc("O")
        emit_into(r)
        return self.convert(Val(t, "O", r), t, None, "", dst[1] if dst and dst[0] == t.file else None)  # type: ignore[arg-type]

    def call_flow(self, node: ast.Call, sig: Sig, want, dst) -> Val:
        args = self.bind(node, sig.params, sig.name)
        base = self.arg_block(args, sig.params, sig.name)
        ref = self.flow_ref(sig)
        self.set_pos(node)
        return self.result(sig.returns, dst, lambda r: self.emit(Op.CALLFLOW, r, self.const(ref), base))

    def flow_ref(self, sig: Sig) -> FlowRef:
        for fr in self.flow_refs:
            if fr.ref == sig.ref:
                return fr
        fr = FlowRef(sig.ref, sig.name, sig.obj if sig.obj is not None else sig.env)
        self.flow_refs.append(fr)
        return fr

    def no_handles(self, node: ast.Call, sig: Sig) -> None:
        """Queues, locks and wait groups never leave the flows that made them (they are deleted
        with their isolate tree), so no Python function may take or hand one out."""
        for pname, pt in sig.params:
            h = handle_in(pt)
            if h is not None:
                self.fail(node, f"{sig.kind} function {sig.name}: parameter {pname} holds a {h}; queues, locks "
                                "and wait groups stay inside flows: pass them to a flow or a create_task child")
        h = handle_in(sig.returns)
        if h is not None:
            self.fail(node, f"{sig.kind} function {sig.name} returns a {h}; a Python function cannot make one: "
                            f"create it in the flow with dpslio.{h.kind}{'[T]' if h.kind == 'Queue' else ''}()")

    def call_pure(self, node: ast.Call, sig: Sig, want, dst) -> Val:
        self.no_handles(node, sig)
        args = self.bind(node, sig.params, sig.name, sig.defaults)
        base = self.arg_block(args, sig.params, sig.name)
        target = CallTarget("pure", sig.ref, len(args), fn=sig.obj)
        self.set_pos(node)
        return self.result(sig.returns, dst, lambda r: self.emit(Op.CALL, r, self.const(target), base))

    def call_impure(self, node: ast.Call, sig: Sig, want, dst) -> Val:
        self.no_handles(node, sig)
        args = self.bind(node, sig.params, sig.name, sig.defaults)
        base = self.arg_block(args, sig.params, sig.name)
        retries, backoff, timeout = sig.policy
        spec = EffectSpec("impure", len(args), (sig.ref, int(retries), float(backoff), float(timeout),
                                                ERROR in members(sig.returns)), fn=sig.obj)
        self.set_pos(node)
        return self.result(sig.returns, dst, lambda r: self.emit(Op.EFFECT, r, self.const(spec), base))

    def call_dataclass(self, node: ast.Call, t: DataclassT, want, dst) -> Val:
        params = list(t.fields or [])
        args = self.bind(node, params, t.name, self.env.field_defaults.get(t.ref))
        base = self.arg_block(args, params, t.name)
        target = CallTarget("dataclass", t.ref, len(args), fn=t.cls)
        self.set_pos(node)
        return self.result(t, dst, lambda r: self.emit(Op.CALL, r, self.const(target), base))

    def call_unmarshal(self, node: ast.Call, t: Type, want, dst) -> Val:
        h = handle_in(t)
        if h is not None:
            self.fail(node, f"json_unmarshal cannot make a {h}: JSON holds data, not queues, locks or wait groups")
        args = self.bind(node, [("data", BYTES)], "json_unmarshal")
        base = self.arg_block(args, [("data", BYTES)], "json_unmarshal")
        target = CallTarget("builtin", "builtin:json_unmarshal", 1, type=t)
        self.set_pos(node)
        return self.result(union(t, ERROR), dst, lambda r: self.emit(Op.CALL, r, self.const(target), base))

    def call_durable(self, node: ast.Call, name: str, want, dst) -> Val:
        if name == "json_unmarshal":
            self.fail(node, "json_unmarshal needs the target type, e.g. json_unmarshal[list[int]](data)")
        if name == "json_marshal":
            if len(node.args) != 1 or node.keywords:
                self.fail(node, "json_marshal takes one argument")
            v = self.ex(node.args[0])
            base = self.convert(v, v.t, node.args[0], "", boxed=True).r
            target = CallTarget("builtin", "builtin:json_marshal", 1)
            self.set_pos(node)
            return self.result(union(BYTES, ERROR), dst, lambda r_: self.emit(Op.CALL, r_, self.const(target), base))
        if name in DRAWN:
            self.bind(node, [], name)
            target = CallTarget("builtin", f"builtin:{name}", 0)
            self.set_pos(node)
            return self.result(DRAWN[name], dst, lambda r_: self.emit(Op.CALL, r_, self.const(target), 0))
        params = DURABLE_PARAMS[name]
        extra: tuple = ()
        if name == "http_request":
            node, params, args, extra = self.http_options(node, params)
        else:
            if name == "http_listen":
                if len(node.args) > 2:
                    self.fail(node.args[2], "http_listen takes its timeout as a keyword: "
                                            "http_listen(method, route, timeout=seconds)")
                if any(k.arg == "timeout" for k in node.keywords):
                    params = params + LISTEN_TIMEOUT
            args = self.bind(node, params, name)
        base = self.arg_block(args, params, name)
        spec = EffectSpec(name, len(args), extra)
        rt = NONE if name == "sleep" else union(BYTES, ERROR)
        self.set_pos(node)
        return self.result(rt, dst, lambda r: self.emit(Op.EFFECT, r, self.const(spec), base))

    def http_options(self, node: ast.Call, params: list[tuple[str, Type]]) -> tuple:
        """http_request's arguments, then its options as further arguments named in the spec's
        extra (a call without options compiles as it did before there were any)."""
        from ..runtime.httpclient import HttpPolicy  # noqa: PLC0415 - the compiler's one use of the runtime
        names = {p for p, _ in params}
        opts = []
        for k in node.keywords:
            if k.arg in HTTP_OPTIONS:
                opts.append(k)
            elif k.arg not in names:
                self.fail(k, f"http_request has no parameter or option named {k.arg} "
                             f"(options: {', '.join(sorted(HTTP_OPTIONS))})")
        plain = ast.copy_location(ast.Call(node.func, node.args, [k for k in node.keywords if k not in opts]), node)
        args = self.bind(plain, params, "http_request")
        for k in opts:
            value = _literal_number(k.value)
            if value is not None and (HTTP_OPTIONS[k.arg] == FLOAT or type(value) is int):
                try:
                    HttpPolicy().override(**{k.arg: value})
                except (TypeError, ValueError) as e:
                    self.fail(k.value, str(e))
        params = params + [(k.arg, HTTP_OPTIONS[k.arg]) for k in opts]
        return node, params, args + [k.value for k in opts], tuple(k.arg for k in opts)

    def call_dpslio(self, node: ast.Call, what: tuple, want, dst) -> Val:
        name, elem = what
        self.set_pos(node)
        if name == "create_task":
            if len(node.args) != 1 or not isinstance(node.args[0], ast.Call):
                self.fail(node, "dpslio.create_task takes one flow call, e.g. dpslio.create_task(child(1))")
            detach = False
            for k in node.keywords:
                if k.arg != "detach":
                    self.fail(k, f"dpslio.create_task has no parameter named {k.arg}; its only keyword is detach")
                if not (isinstance(k.value, ast.Constant) and type(k.value.value) is bool):
                    self.fail(k.value, "detach of dpslio.create_task must be True or False, written out")
                detach = k.value.value
            call = node.args[0]
            try:
                kind, sig = self.callee(call.func)
            except _Abort:
                self.errors.pop()
                kind = None
            if kind != "flow":
                self.fail(call.func, f"dpslio.create_task starts flows; {ast.unparse(call.func)} is not a flow")
            args = self.bind(call, sig.params, sig.name)
            base = self.arg_block(args, sig.params, sig.name)
            # a detached child outlives its parent; extra stays one long otherwise, as before
            spec = EffectSpec("create_task", len(args), (self.flow_ref(sig), True) if detach else (self.flow_ref(sig),))
            self.set_pos(node)
            return self.result(NONE, dst, lambda r: self.emit(Op.EFFECT, r, self.const(spec), base))
        if name == "Queue":
            args = self.bind(node, [("capacity", INT)], "dpslio.Queue") if node.args or node.keywords else []
            base = self.alloc("O")
            if args:
                self.boxed(args[0], INT, "the capacity of dpslio.Queue", base)
            else:
                self.emit(Op.LOADK, base, self.const(0))
            spec = EffectSpec("new_queue", 1, (str(elem),))
            self.set_pos(node)
            return self.result(HandleT("Queue", elem), dst, lambda r: self.emit(Op.EFFECT, r, self.const(spec), base))
        self.bind(node, [], f"dpslio.{name}")
        spec = EffectSpec("new_lock" if name == "Lock" else "new_waitgroup", 0)
        return self.result(HandleT(name), dst, lambda r: self.emit(Op.EFFECT, r, self.const(spec), 0))

    METHODS = {
        "Queue": {"put": ("queue_put", 1), "get": ("queue_get", 0)},
        "Lock": {"acquire": ("lock_acquire", 0), "release": ("lock_release", 0)},
        "WaitGroup": {"add": ("wg_add", 1), "done": ("wg_done", 0), "wait": ("wg_wait", 0)},
    }

    def call_helper(self, node: ast.Call, name: str, base: int, nargs: int, rt: Type, dst) -> Val:
        target = CallTarget("builtin", f"builtin:{name}", nargs)
        self.set_pos(node)
        return self.result(rt, dst, lambda r: self.emit(Op.CALL, r, self.const(target), base))

    def call_method(self, node: ast.Call, what: tuple, want, dst) -> Val:
        name, func = what
        recv = self.operand(func.value)
        t = recv.t
        if isinstance(t, (ListT, DictT)) and self.awaited is not None:
            self.fail(self.awaited, f"await needs a durable operation, an @impure function or a flow call; "
                                    f"{ast.unparse(func)} is not one")
        if isinstance(t, ListT) and name == "append":
            args = self.bind(node, [("value", t.elem)], "list.append")
            v = self.boxed(args[0], t.elem, "list.append")
            self.set_pos(node)
            self.emit(Op.APPEND, recv.r, v)
            return Val(NONE, "O", self.creg("O", None))
        if isinstance(t, ListT) and name == "pop":
            args = self.bind(node, [("index", INT)], "list.pop", {"index": -1})
            base = self.alloc("O", 2)
            self.emit(Op.MOVE, base, recv.r)
            self.boxed(args[0], INT, "argument index of pop", base + 1)
            return self.call_helper(node, "list_pop", base, 2, t.elem, dst)
        if isinstance(t, DictT) and name == "get":
            given = len(node.args) + len(node.keywords) >= 2
            args = self.bind(node, [("key", t.key), ("default", t.value)], "dict.get", {"default": None})
            base = self.alloc("O", 3)
            self.emit(Op.MOVE, base, recv.r)
            self.boxed(args[0], t.key, "argument key of get", base + 1)
            if given:
                self.boxed(args[1], t.value, "argument default of get", base + 2)
            else:
                self.emit(Op.LOADNONE, base + 2)
            return self.call_helper(node, "dict_get", base, 3, t.value if given else union(t.value, NONE), dst)
        if isinstance(t, DictT) and name in ("keys", "values"):
            self.bind(node, [], f"dict.{name}")
            return self.call_helper(node, f"dict_{name}", recv.r, 1, ListT(t.key if name == "keys" else t.value), dst)
        if isinstance(t, HandleT) and name in self.METHODS[t.kind]:
            kind, n = self.METHODS[t.kind][name]
            params = [("value", t.elem)] if kind == "queue_put" else [("n", INT)] if kind == "wg_add" else []
            args = self.bind(node, params, f"{ast.unparse(func)}")
            if n == 0:
                base = recv.r
            else:
                base = self.alloc("O", 1 + n)
                self.emit(Op.MOVE, base, recv.r)
            for i, (a, (pn, pt)) in enumerate(zip(args, params)):
                self.boxed(a, pt, f"argument {pn} of {name}", base + 1 + i)
            spec = EffectSpec(kind, 1 + n)
            rt = t.elem if kind == "queue_get" else NONE
            self.set_pos(node)
            return self.result(rt, dst, lambda r: self.emit(Op.EFFECT, r, self.const(spec), base))
        tname = {STR: "str", BYTES: "bytes"}.get(t, None) or (
            "list" if isinstance(t, ListT) else "dict" if isinstance(t, DictT) else str(t))
        hint = "; narrow it with isinstance first" if isinstance(t, UnionT) else "; use a @pure function"
        self.fail(func, f"{tname}.{name}() is not supported in flows{hint}")

    def call_builtin(self, node: ast.Call, name: str, want, dst) -> Val:
        self.set_pos(node)
        if name == "print":
            if node.keywords:
                self.fail(node.keywords[0], "print in flows takes no keyword arguments")
            base = self.alloc("O", len(node.args))
            for i, a in enumerate(node.args):
                v = self.ex(a, None, ("O", base + i, False))
                self.convert(v, v.t, a, "", base + i, boxed=True)
            self.set_pos(node)
            self.emit(Op.PRINT, base, len(node.args))
            return Val(NONE, "O", self.creg("O", None))
        if name == "DSError":
            params = [("message", STR), ("kind", STR)]
            if len(node.args) + len(node.keywords) == 1 and (node.args or node.keywords[0].arg == "message"):
                node = ast.copy_location(ast.Call(node.func, node.args, node.keywords + [
                    ast.keyword("kind", ast.copy_location(ast.Constant("error"), node))]), node)
            args = self.bind(node, params, "DSError")
            base = self.arg_block(args, params, "DSError")
            target = CallTarget("builtin", "builtin:DSError", 2)
            self.set_pos(node)
            return self.result(ERROR, dst, lambda r: self.emit(Op.CALL, r, self.const(target), base))
        if node.keywords:
            self.fail(node.keywords[0], f"{name}() takes no keyword arguments in flows")
        args = node.args
        if name == "isinstance":
            if len(args) != 2:
                self.fail(node, "isinstance takes a value and a type, e.g. isinstance(r, bytes)")
            a0 = args[0]
            var = self.lookup(a0.id) if isinstance(a0, ast.Name) else None
            if var is not None and var.f == "O" and self.state is not None and var in self.state.assigned:
                v = Val(self.current(var), "O", var.r)
            else:
                v = self.operand(a0)
            member = self.isinstance_member(v.t, args[1])
            r = self.target("I", dst)
            self.set_pos(node)
            if v.f != "O" or member == v.t:
                self.emit(Op.LOADI, r, 1)
            else:
                self.emit(Op.ISINSTANCE, r, v.r, self.const(TypeTest(member)))
            return Val(BOOL, "I", r)
        if name == "enumerate":
            self.fail(node, "enumerate is only supported as the iterable of a for loop")
        if name == "len":
            if len(args) != 1:
                self.fail(node, "len takes one argument")
            v = self.operand(args[0])
            if not (isinstance(v.t, (ListT, DictT)) or v.t in (STR, BYTES)):
                self.fail(args[0], f"len needs a list, dict, str or bytes, not {v.t}")
            r = self.target("I", dst)
            self.set_pos(node)
            self.emit(Op.LEN, r, v.r)
            return Val(INT, "I", r)
        if name == "range":
            if not 1 <= len(args) <= 3:
                self.fail(node, "range takes one to three int arguments")
            ps = [(f"arg{i}", INT) for i in range(len(args))]
            base = self.arg_block(args, ps, "range")
            target = CallTarget("builtin", "builtin:range", len(args))
            self.set_pos(node)
            return self.result(ListT(INT), dst, lambda r: self.emit(Op.CALL, r, self.const(target), base))
        if name in ("str", "int", "float"):
            if len(args) != 1:
                self.fail(node, f"{name}() takes one argument in flows")
            v = self.operand(args[0])
            rt = {"str": STR, "int": INT, "float": FLOAT}[name]
            if v.t == rt:
                return v
            if name == "float" and v.t == INT:
                return self.convert(v, FLOAT, args[0], "", dst[1] if dst and dst[0] == "F" else None)
            if name == "int" and v.t == BOOL:
                return Val(INT, "I", v.r)
            ok = {"str": lambda t: t in (INT, FLOAT, BOOL, BYTES, NONE) or isinstance(t, (ListT, DictT, ErrorT, DataclassT, UnionT)),
                  "int": lambda t: t in (FLOAT, STR) or number_union(t),
                  "float": lambda t: t == STR or number_union(t)}[name]
            if not ok(v.t):
                self.fail(args[0], f"{name}() cannot convert {v.t}")
            b = self.convert(v, v.t, args[0], "", boxed=True)
            target = CallTarget("builtin", f"builtin:{name}", 1)
            self.set_pos(node)
            return self.result(rt, dst, lambda r: self.emit(Op.CALL, r, self.const(target), b.r))
        if name in ("abs", "min", "max"):
            if name == "abs" and len(args) != 1:
                self.fail(node, "abs takes one argument")
            if not args:
                self.fail(node, f"{name} needs arguments")
            vals = [self.operand(a) for a in args]
            if len(vals) == 1 and isinstance(vals[0].t, ListT) and name != "abs":
                et = vals[0].t.elem
                if et not in (INT, FLOAT, STR):
                    self.fail(args[0], f"{name} needs numbers or strings, not {vals[0].t}")
                base = vals[0].r
                if base >= CBASE:
                    base = self.alloc("O")
                    self.emit(Op.MOVE, base, vals[0].r)
            else:
                ts = {v.t for v in vals}
                if ts <= {INT, FLOAT, BOOL} and (name != "abs" or ts != {BOOL}):
                    # Python returns one of the arguments as it is: max(1, 1.0) is the int 1
                    et = union(*(v.t for v in vals))
                elif ts == {STR} and name != "abs":
                    et = STR
                else:
                    bad = next(v for v in vals if v.t not in (INT, FLOAT))
                    self.fail(args[vals.index(bad)], f"{name} needs numbers, not {bad.t}")
                base = self.alloc("O", len(vals))
                for i, (a, v) in enumerate(zip(args, vals)):
                    self.convert(v, et, a, "", base + i, boxed=True)
            target = CallTarget("builtin", f"builtin:{name}", 1 if len(vals) == 1 and name != "abs" and
                                isinstance(vals[0].t, ListT) else len(vals))
            self.set_pos(node)
            return self.result(et, dst, lambda r: self.emit(Op.CALL, r, self.const(target), base))
        self.fail(node, f"{name}() is not available in flows")

    def isinstance_member(self, t: Type, tnode: ast.expr) -> Type:
        """The members of union t that isinstance(x, tnode) selects."""
        found = self.instances_of(t, tnode)
        if not found:
            self.fail(tnode, f"a value of type {t} is never an instance of {ast.unparse(tnode)}")
        return union(*found)

    def instances_of(self, t: Type, tnode: ast.expr) -> list[Type]:
        if isinstance(tnode, ast.Tuple) and tnode.elts:
            # a tuple of classes selects what any of them does
            return [m for e in tnode.elts for m in self.instances_of(t, e)]
        if isinstance(tnode, ast.Name) and tnode.id in ("list", "dict") and self.env.lookup(tnode.id)[0] != "live":
            cls = ListT if tnode.id == "list" else DictT
            return [m for m in members(t) if isinstance(m, cls)]
        if isinstance(tnode, ast.Constant) and tnode.value is None:
            return [m for m in members(t) if m == NONE]
        want = self.typ(tnode)
        if isinstance(want, (ListT, DictT)):
            self.fail(tnode, f"isinstance takes a class, e.g. isinstance(x, list), not {want}")
        # bool is a kind of int
        return [m for m in members(t) if m == want or (want == INT and m == BOOL)]


def _literal_number(node: ast.expr) -> int | float | None:
    """The value of a number literal (``5``, ``-1``, ``2.5``), else None."""
    neg = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    inner = node.operand if neg else node  # type: ignore[attr-defined]
    if isinstance(inner, ast.Constant) and type(inner.value) in (int, float):
        return -inner.value if neg else inner.value
    return None
