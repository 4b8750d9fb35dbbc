"""A generator of well-typed flow modules in the pure subset, for the differential check and the fuzz.

``generate(seed)`` gives the text of a module (helper flows and a ``main`` flow) and the
arguments for ``main``. Every program compiles, terminates quickly and means the same under
deepslate and CPython: the generator keeps away from the places where deepslate's typed
semantics knowingly differ from CPython's (docs/language.md, "Where flows differ from Python":
an int stored where a float is declared becomes a float; ``int ** negative`` faults; a dict's
keys are copied before a ``for`` over it), and it bounds sizes so that no value explodes (loops
have literal bounds; inside a loop, an outer int that is reassigned is reduced modulo a literal,
strings and lists only grow linearly, and a helper flow never grows a list or dict it was given,
since its caller may be looping over it).

Beyond ints, floats, bools, strs, lists and dicts it generates the value classes where typed
code most easily drifts from CPython: ``min``/``max`` mixing ints, floats and bools (whose result
is an argument as it is), NaN and the infinities (``float('nan')``) in identity-sensitive
container tests (``x in [y, x]``, ``[x] == [x]``), strs with lone surrogates and astral
characters, values (big ints, NaN, any str) through ``json_marshal``/``json_unmarshal``,
``isinstance(b, int)`` on bools, and ``match`` on literals of the neighbouring number types
(``case 1`` on a bool, ``case 0.0`` on an int, ``case 1`` on a float).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

INT, FLOAT, BOOL, STR, LI, LS, DSI = "int", "float", "bool", "str", "list[int]", "list[str]", "dict[str, int]"
SCALARS = [INT, FLOAT, BOOL, STR]
TYPES = SCALARS + [LI, LS, DSI]

INT_LITS = ["0", "1", "2", "3", "-1", "-2", "5", "7", "10", "-13", "100", "2 ** 62", "-(2 ** 63)",
            "9223372036854775807", "10 ** 20", "-7"]
FLOAT_LITS = ["0.0", "-0.0", "0.5", "1.5", "-2.25", "3.0", "1e300", "-1e-300", "7.75", "0.1"]
STR_LITS = ["''", "'a'", "'bc'", "'x y'", "'héllo'", "'12'", "'-3'", "' 7 '", "'1.5'", "'Z'", "'nan'", "'-inf'",
            "'\\ud800'", "'a\\udcffb'", "'\\U0001f600'", "'inf'"]
KEYS = ["'a'", "'b'", "'c'", "'k'"]


@dataclass
class Var:
    name: str
    type: str
    frozen: bool = False        # a loop counter: only its loop changes it
    shared: bool = False        # a helper's list or dict parameter: its caller may be iterating over it


@dataclass
class Fn:
    name: str
    params: list[tuple[str, str]]
    ret: str


@dataclass
class Ctx:
    scopes: list[list[Var]] = field(default_factory=lambda: [[]])
    loop: int = 0               # enclosing loops
    in_for_list: int = 0        # enclosing for-over-list loops: no appends (the list could grow forever)
    in_for_dict: int = 0        # enclosing for-over-dict loops: no new keys (CPython would raise)
    outer_names: set = field(default_factory=set)   # variables declared outside the innermost loop

    def visible(self, t: str | None = None, writable: bool = False) -> list[Var]:
        return [v for s in self.scopes for v in s
                if (t is None or v.type == t) and not (writable and v.frozen)]


class Gen:
    def __init__(self, seed: int, max_stmts: int = 7):
        self.r = random.Random(seed)
        self.max_stmts = max_stmts
        self.n = 0
        self.fns: list[Fn] = []
        self.ctx = Ctx()
        self.in_fstring = False
        self.json_used: set[str] = set()

    def fresh(self, prefix: str = "v") -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    # -- expressions ------------------------------------------------------------------
    def var(self, t: str) -> str | None:
        vs = self.ctx.visible(t)
        return self.r.choice(vs).name if vs else None

    def expr(self, t: str, d: int = 0, small: bool = False) -> str:
        leaf = d >= 3 or self.chance(0.25 + 0.2 * d)
        if leaf:
            v = self.var(t)
            if v is not None and self.chance(0.6):
                return v
            return self.literal(t, d)
        return getattr(self, "e_" + {INT: "int", FLOAT: "float", BOOL: "bool", STR: "str", LI: "li",
                                     LS: "ls", DSI: "dsi"}[t])(d + 1, small)

    def literal(self, t: str, d: int) -> str:
        r = self.r
        if t == INT:
            return r.choice(INT_LITS)
        if t == FLOAT:
            return r.choice(FLOAT_LITS)
        if t == BOOL:
            return r.choice(["True", "False"])
        if t == STR:
            # an f-string's expressions cannot hold a backslash before Python 3.12
            return r.choice([x for x in STR_LITS if "\\" not in x] if self.in_fstring else STR_LITS)
        if t in (LI, LS):
            el = INT if t == LI else STR
            return "[" + ", ".join(self.literal(el, d) for _ in range(r.randint(1, 3))) + "]"
        return "{" + ", ".join(f"{self.key()}: {self.literal(INT, d)}" for _ in range(r.randint(1, 3))) + "}"

    def index(self, d: int) -> str:
        # mostly in range, so that fewer programs stop at their first index
        return self.r.choice(["0", "-1", "0", "1", self.expr(INT, d + 1)])

    def key(self) -> str:
        return "'a'" if self.r.random() < 0.6 else self.r.choice(KEYS)

    def call(self, t: str, d: int) -> str | None:
        fns = [f for f in self.fns if f.ret == t]
        if not fns or d > 2:
            return None
        f = self.r.choice(fns)
        return f"{f.name}(" + ", ".join(self.expr(pt, d + 1) for _, pt in f.params) + ")"

    def e_int(self, d: int, small: bool) -> str:
        r, e = self.r, self.expr
        k = r.randint(0, 15)
        if k <= 2:
            return f"({e(INT, d)} {r.choice(['+', '-', '*'])} {e(INT, d)})"
        if k == 3:
            return f"({e(INT, d)} {r.choice(['//', '%'])} {e(INT, d)})"
        if k == 4:
            return f"({e(INT, d)} ** {r.randint(0, 3)})"
        if k == 5:
            return f"(-{e(INT, d)})"
        if k == 6:
            return f"{r.choice(['abs', 'int'])}({e(INT, d)})" if r.random() < 0.5 else \
                f"{r.choice(['min', 'max'])}({e(INT, d)}, {e(INT, d)})"
        if k == 7:
            return f"len({e(r.choice([STR, LI, LS, DSI]), d)})"
        if k == 8:
            return f"{e(LI, d)}[{self.index(d)}]"
        if k == 9:
            return f"{e(DSI, d)}[{self.key()}]"
        if k == 10:
            return f"int({e(FLOAT, d)})"
        if k == 11:
            return f"int({e(BOOL, d)})" if r.random() < 0.5 else f"int({e(STR, d)})"
        if k == 12:
            return f"({e(INT, d)} if {e(BOOL, d)} else {e(INT, d)})"
        if k == 13:
            return self.call(INT, d) or e(INT, d)
        if k == 14 and r.random() < 0.5:
            # min/max of mixed numbers return an argument as it is; int() takes either
            return f"int({r.choice(['min', 'max'])}({self.mixed_args(d)}))"
        v = self.var(INT)
        return v if v else self.literal(INT, d)

    def e_float(self, d: int, small: bool) -> str:
        r, e = self.r, self.expr
        k = r.randint(0, 11)
        if k <= 2:
            return f"({e(FLOAT, d)} {r.choice(['+', '-', '*', '/', '//', '%'])} {e(FLOAT, d)})"
        if k == 3:   # mixed int and float: a float in CPython too
            a, b = e(INT, d), e(FLOAT, d)
            if r.random() < 0.5:
                a, b = b, a
            return f"({a} {r.choice(['+', '-', '*', '/'])} {b})"
        if k == 4:
            return f"({e(INT, d)} / {e(INT, d)})"
        if k == 5:
            return f"float({e(INT, d)})" if r.random() < 0.7 else f"float({e(STR, d)})"
        if k == 6:
            return f"abs({e(FLOAT, d)}) ** {r.choice(['0.5', '2.0', '3.0', '-1.0', '0.0'])}"
        if k == 7:
            return f"{r.choice(['abs', '-', 'float'])}({e(FLOAT, d)})"
        if k == 8:
            if r.random() < 0.5:
                return f"float({r.choice(['min', 'max'])}({self.mixed_args(d)}))"
            return f"{r.choice(['min', 'max'])}({e(FLOAT, d)}, {e(FLOAT, d)})"
        if k == 9:
            return f"({e(FLOAT, d)} if {e(BOOL, d)} else {e(FLOAT, d)})"
        if k == 10:
            return self.call(FLOAT, d) or e(FLOAT, d)
        if r.random() < 0.3:
            return f"float({r.choice(SPECIAL_FLOATS)})"
        return self.literal(FLOAT, d)

    def e_bool(self, d: int, small: bool) -> str:
        r, e = self.r, self.expr
        k = r.randint(0, 9)
        cmp = ["<", "<=", "==", "!=", ">", ">="]
        if k <= 2:
            t = r.choice([INT, INT, FLOAT, STR])
            return f"({e(t, d)} {r.choice(cmp)} {e(t, d)})"
        if k == 3:
            return f"({e(INT, d)} {r.choice(cmp)} {e(FLOAT, d)})"
        if k == 4:
            return f"({e(INT, d)} {r.choice(['<', '<='])} {e(INT, d)} {r.choice(['<', '<='])} {e(INT, d)})"
        if k == 5:
            return f"({e(BOOL, d)} {r.choice(['and', 'or'])} {e(BOOL, d)})"
        if k == 6:
            return f"(not {e(BOOL, d)})"
        if k == 7:
            which = r.randint(0, 2)
            if which == 0:
                return f"({e(INT, d)} {r.choice(['in', 'not in'])} {e(LI, d)})"
            if which == 1:
                return f"({r.choice(KEYS)} {r.choice(['in', 'not in'])} {e(DSI, d)})"
            return f"({e(STR, d)} {r.choice(['in', 'not in'])} {e(LS, d)})"
        if k == 8:
            t = r.choice([LI, LS])
            return f"({e(t, d)} {r.choice(['==', '!=', '<'])} {e(t, d)})"
        if k == 9 and r.random() < 0.6:
            return self.float_identity(d)
        if k == 9 and r.random() < 0.5:
            return f"({r.choice(['min', 'max'])}({self.mixed_args(d, bools=False)}) {r.choice(cmp)} {e(r.choice([INT, FLOAT]), d)})"
        if k == 9:
            return f"isinstance({e(r.choice([INT, BOOL]), d)}, int)"
        return self.call(BOOL, d) or self.literal(BOOL, d)

    def e_str(self, d: int, small: bool) -> str:
        r, e = self.r, self.expr
        k = r.randint(0, 8)
        if k <= 1:
            if small:
                return f"({self.var(STR) or self.literal(STR, d)} + {self.literal(STR, d)})"
            return f"({e(STR, d)} + {e(STR, d)})"
        if k == 2 and not small:
            return f"({e(STR, d)} * ({e(INT, d)} % 4))"
        if k == 3:
            return f"str({e(r.choice([INT, FLOAT, BOOL]), d)})"
        if k == 4:
            return f"{e(STR, d)}[{self.index(d)}]"
        if k == 5 and not self.in_fstring:
            # no f-string inside another: Python before 3.12 cannot parse one
            parts = [r.choice([INT, FLOAT, BOOL] + ([] if small else [STR])) for _ in range(r.randint(1, 3))]
            self.in_fstring = True
            try:
                return 'f"' + "-".join("{ " + e(t, d) + " }" for t in parts) + '"'
            finally:
                self.in_fstring = False
        if k == 6:
            return f"{e(LS, d)}[{self.index(d)}]"
        if k == 7:
            return self.call(STR, d) or self.literal(STR, d)
        if r.random() < 0.3:
            return f"str({r.choice(['min', 'max'])}({self.mixed_args(d)}))"
        if r.random() < 0.3:
            return self.json_round_trip(d)
        return self.literal(STR, d)

    def mixed_args(self, d: int, bools: bool = True) -> str:
        """Arguments for min/max mixing int, float and (unless ordered after) bool, in any order."""
        ts = [INT, FLOAT] + [self.r.choice([INT, FLOAT, BOOL] if bools else [INT, FLOAT])
                             for _ in range(self.r.randint(0, 1))]
        self.r.shuffle(ts)
        return ", ".join(self.expr(t, d + 1) for t in ts)

    def float_identity(self, d: int) -> str:
        """Container tests where CPython compares identity first: a NaN is equal to itself there."""
        x = self.var(FLOAT) or f"float({self.r.choice(SPECIAL_FLOATS)})"
        y = self.expr(FLOAT, d)
        return self.r.choice([f"({x} in [{y}, {x}])", f"([{x}] == [{x}])", f"([{x}, {y}] != [{x}, {y}])",
                              f"({x} in [{y}])", f"({x} not in [{x}])", f"([{x}] == [{y}])"])

    def json_round_trip(self, d: int) -> str:
        """A value through json_marshal and json_unmarshal: big ints, NaN and infinities, any str."""
        t = self.r.choice([INT, FLOAT, STR, LI, LS])
        v = self.expr(t, d + 1, small=True)
        if self.r.random() < 0.3:
            return f"str(json_marshal({v}))"
        self.json_used.add(t)
        return f"json_{JSON_NAMES[t]}({v})"

    def e_li(self, d: int, small: bool) -> str:
        r, e = self.r, self.expr
        k = r.randint(0, 3)
        if k == 0 or small:
            return "[" + ", ".join(e(INT, d) for _ in range(r.randint(1, 3))) + "]"
        if k == 1:
            return f"({e(LI, d)} + {e(LI, d)})"
        if k == 2:
            return f"([{e(INT, d)}] * ({e(INT, d)} % 4))"
        return self.call(LI, d) or self.literal(LI, d)

    def e_ls(self, d: int, small: bool) -> str:
        r, e = self.r, self.expr
        if small or r.random() < 0.6:
            return "[" + ", ".join(e(STR, d, small=True) for _ in range(r.randint(1, 3))) + "]"
        return f"({e(LS, d)} + {e(LS, d)})"

    def e_dsi(self, d: int, small: bool) -> str:
        r = self.r
        return "{" + ", ".join(f"{self.key()}: {self.expr(INT, d)}" for _ in range(r.randint(1, 3))) + "}"

    # -- statements -------------------------------------------------------------------
    def declare(self, t: str, frozen: bool = False) -> Var:
        v = Var(self.fresh(), t, frozen)
        self.ctx.scopes[-1].append(v)
        return v

    def block(self, pad: str, ret: str, depth: int, n: int | None = None) -> list[str]:
        self.ctx.scopes.append([])
        out: list[str] = []
        for _ in range(n if n is not None else self.r.randint(1, 4)):
            out += self.stmt(pad, ret, depth)
        self.ctx.scopes.pop()
        return out or [pad + "pass"]

    def assign_rhs(self, v: Var) -> str:
        """A value for reassigning ``v``: inside a loop, an outer variable's size stays bounded."""
        grows = self.ctx.loop and v.name in self.ctx.outer_names
        if not grows:
            return self.expr(v.type)
        if v.type == INT:
            return f"({self.expr(INT)}) % {self.r.choice(['7', '-5', '1000003', '97', '-(2 ** 40)'])}"
        return self.expr(v.type, small=True)

    def stmt(self, pad: str, ret: str, depth: int) -> list[str]:
        r, ctx = self.r, self.ctx
        k = r.randint(0, 16 if depth < 3 else 7)
        if k == 16:
            return self.match(pad, ret, depth)
        if k <= 1:
            t = r.choice(TYPES)
            rhs = self.expr(t) if t in SCALARS or r.random() < 0.85 else "[]" if t in (LI, LS) else "{}"
            v = self.declare(t)
            return [f"{pad}{v.name}: {t} = {rhs}"]
        if k <= 3:
            vs = ctx.visible(writable=True)
            if not vs:
                return self.stmt(pad, ret, depth)
            v = r.choice(vs)
            if v.type in (INT, FLOAT, STR) and r.random() < 0.3 and not (ctx.loop and v.name in ctx.outer_names):
                op = r.choice(["+=", "-=", "*="] if v.type != STR else ["+="])
                return [f"{pad}{v.name} {op} {self.expr(v.type)}"]
            return [f"{pad}{v.name} = {self.assign_rhs(v)}"]
        if k == 4:
            xs = ctx.visible(r.choice([LI, LS]))
            growable = [x for x in xs if not x.shared]
            if growable and not ctx.in_for_list:
                x = r.choice(growable)
                return [f"{pad}{x.name}.append({self.expr(INT if x.type == LI else STR, small=True)})"]
            if xs:
                x = r.choice(xs)
                return [f"{pad}{x.name}[{self.index(0)}] = {self.expr(INT if x.type == LI else STR, small=True)}"]
            return [f"{pad}pass"]
        if k == 5:
            ds = [v for v in ctx.visible(DSI) if not v.shared]
            if ds and not ctx.in_for_dict:
                return [f"{pad}{r.choice(ds).name}[{self.key()}] = {self.expr(INT, small=True)}"]
            return [f"{pad}print({', '.join(self.expr(r.choice(SCALARS)) for _ in range(r.randint(1, 3)))})"]
        if k == 6:
            if ctx.loop:
                return [f"{pad}if {self.expr(BOOL)}:", f"{pad}    {r.choice(['break', 'continue'])}"]
            return [f"{pad}print({self.expr(r.choice(SCALARS + [LI]))})"]
        if k == 7:
            if r.random() < 0.5:
                return [f"{pad}if {self.expr(BOOL)}:", f"{pad}    return {self.expr(ret)}"]
            return [f"{pad}print({self.expr(r.choice(SCALARS))})"]
        if k <= 9:
            out = [f"{pad}if {self.expr(BOOL)}:"] + self.block(pad + "    ", ret, depth + 1)
            for _ in range(r.randint(0, 2)):
                out += [f"{pad}elif {self.expr(BOOL)}:"] + self.block(pad + "    ", ret, depth + 1)
            if r.random() < 0.5:
                out += [f"{pad}else:"] + self.block(pad + "    ", ret, depth + 1)
            return out
        return self.loop(pad, ret, depth, k)

    def match(self, pad: str, ret: str, depth: int) -> list[str]:
        r = self.r
        t = r.choice([INT, STR, BOOL, FLOAT])
        # number literals of the neighbouring types match by == (case 1 matches True, case 0.0 matches 0)
        lits = {INT: ["0", "1", "-1", "3", "7", "100", "0.0", "-0.0", "1.0", "3.0"], STR: ["'a'", "''", "'12'", "'Z'"],
                BOOL: ["True", "False", "0", "1", "1.0", "0.0"], FLOAT: ["0.0", "-0.0", "0.5", "1", "-1", "3", "1e300"]}[t]
        out = [f"{pad}match {self.expr(t)}:"]
        for _ in range(r.randint(1, 3)):
            pats = r.sample(lits, r.randint(1, min(2, len(lits))))
            out += [f"{pad}    case {' | '.join(pats)}:"] + self.block(pad + "        ", ret, depth + 1)
        if r.random() < 0.6:
            out += [f"{pad}    case _:"] + self.block(pad + "        ", ret, depth + 1)
        return out

    def loop(self, pad: str, ret: str, depth: int, k: int) -> list[str]:
        r, ctx = self.r, self.ctx
        saved_outer = ctx.outer_names
        ctx.outer_names = {v.name for v in ctx.visible()}
        ctx.loop += 1
        try:
            if k <= 11:
                c = self.declare(INT, frozen=True)
                bound = r.randint(0, 6)
                head = [f"{pad}{c.name}: int = 0", f"{pad}while {c.name} < {bound}:",
                        f"{pad}    {c.name} = {c.name} + 1"]
                return head + self.block(pad + "    ", ret, depth + 1)
            if k <= 13:
                a, b = r.randint(-3, 4), r.randint(-3, 8)
                step = r.choice([1, 1, 2, -1, 3])
                rng = r.choice([f"range({b})", f"range({a}, {b})", f"range({a}, {b}, {step})",
                                f"range({self.expr(INT, 2)} % 5)"])
                ctx.scopes.append([])
                i = self.declare(INT, frozen=True)
                body = self.block(pad + "    ", ret, depth + 1)
                ctx.scopes.pop()
                return [f"{pad}for {i.name} in {rng}:"] + body
            t = r.choice([LI, LS, DSI, "enum"])
            ctx.scopes.append([])
            if t == DSI:
                src = self.expr(DSI, 2)
                x = self.declare(STR, frozen=True)
                ctx.in_for_dict += 1
                head = f"{pad}for {x.name} in {src}:"
            elif t == "enum":
                src = self.expr(LS, 2)
                i = self.declare(INT, frozen=True)
                x = self.declare(STR, frozen=True)
                ctx.in_for_list += 1
                head = f"{pad}for {i.name}, {x.name} in enumerate({src}):"
            else:
                src = self.expr(t, 2)
                x = self.declare(INT if t == LI else STR, frozen=True)
                ctx.in_for_list += 1
                head = f"{pad}for {x.name} in {src}:"
            body = self.block(pad + "    ", ret, depth + 1)
            if t == DSI:
                ctx.in_for_dict -= 1
            else:
                ctx.in_for_list -= 1
            ctx.scopes.pop()
            return [head] + body
        finally:
            ctx.loop -= 1
            ctx.outer_names = saved_outer

    # -- functions and the module -----------------------------------------------------
    def function(self, name: str, params: list[tuple[str, str]], ret: str) -> list[str]:
        # a helper may be called from a loop over the very list or dict it was given: growing it
        # would never end (a list) or differ by design (CPython raises for a dict)
        self.ctx = Ctx(scopes=[[Var(p, t, shared=name != "main" and t in (LI, LS, DSI)) for p, t in params]])
        body = self.block("    ", ret, 0, n=self.r.randint(1, self.max_stmts))
        body.append(f"    return {self.expr(ret)}")
        sig = ", ".join(f"{p}: {t}" for p, t in params)
        return ["", "", "@flow", f"async def {name}({sig}) -> {ret}:"] + body

    def module(self) -> tuple[str, dict]:
        r = self.r
        lines = [IMPORTS, PURES]
        self.fns += [Fn(name, params, ret) for name, params, ret in PURE_SIGS]
        for h in range(r.randint(0, 2)):
            params = [(f"a{j}", r.choice(TYPES)) for j in range(r.randint(0, 3))]
            fn = Fn(f"h{h}", params, r.choice(TYPES))
            lines += self.function(fn.name, params, fn.ret)
            self.fns.append(fn)
        params = [(f"p{j}", t) for j, t in enumerate(r.sample(TYPES, r.randint(0, 3)))]
        args = {p: self.arg(t) for p, t in params}
        lines += self.function("main", params, r.choice(TYPES))
        lines += [JSON_FLOWS[t] for t in JSON_NAMES if t in self.json_used]   # only those called
        return "\n".join(lines) + "\n", args

    def arg(self, t: str):
        # eval of a literal of the grammar: the same value CPython would see in the source
        return eval(self.literal(t, 0))  # noqa: S307 - literals this module made


IMPORTS = "from deepslate import DSError, flow, pure, json_marshal, json_unmarshal"
JSON_NAMES = {"int": "int", "float": "float", "str": "str", "list[int]": "li", "list[str]": "ls"}
# a value's JSON and the value read back from it, as text
JSON_FLOWS = {t: f"""

@flow
async def json_{name}(v: {t}) -> str:
    data: bytes | DSError = json_marshal(v)
    if isinstance(data, DSError):
        return "marshal: " + str(data)
    back: {t} | DSError = json_unmarshal[{t}](data)
    return str(data) + " " + str(back)""" for t, name in JSON_NAMES.items()}
# float() of these gives NaN and the infinities
SPECIAL_FLOATS = ["'nan'", "'inf'", "'-inf'", "'-nan'"]

# plain Python called from flows, with faults of their own (index, division, conversion)
PURES = """

@pure
def scale(a: int, b: float) -> float:
    return a * b + 0.5


@pure
def pick(xs: list[int], i: int) -> int:
    return xs[i]


@pure
def shout(s: str, n: int) -> str:
    return (s.upper() + "!") * (n % 3)


@pure
def ratio(a: int, b: int) -> float:
    return a / b


@pure
def digits(s: str) -> int:
    return int(s) if s.strip().lstrip("-").isdigit() else len(s)"""
PURE_SIGS = [("scale", [("a", INT), ("b", FLOAT)], FLOAT), ("pick", [("xs", LI), ("i", INT)], INT),
             ("shout", [("s", STR), ("n", INT)], STR), ("ratio", [("a", INT), ("b", INT)], FLOAT),
             ("digits", [("s", STR)], INT)]
FLOW_NAMES = {"main", "h0", "h1"}


def forget_compiled_modules() -> None:
    """Drop what the compiler keeps per process for the throwaway modules of
    ``driver.compile_source``: a run that compiles thousands of them would otherwise hold
    every one (env.LIVE maps refs to their callables, and so to their modules)."""
    from deepslate.compiler.env import LIVE

    for ref in [r for r in LIVE if r.startswith("_compiled_source_")]:
        del LIVE[ref]


def generate(seed: int, max_stmts: int = 7) -> tuple[str, dict]:
    """A module's source and main's arguments, a pure function of ``seed``."""
    return Gen(seed, max_stmts).module()
