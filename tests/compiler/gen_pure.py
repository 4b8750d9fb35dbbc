"""A generator of well-typed flow modules in the pure subset, for the differential check and the fuzz.

``generate(seed)`` gives the text of a module (helper flows and a ``main`` flow) and the
arguments for ``main``, a pure function of the seed (and of ``exclude``). Programs use ints
(64-bit edges and far beyond), floats (``-0.0``, NaN, infinities, ``2.0 ** 63``), bools, strs
(accents, lone surrogates, astral characters), ``list[int]``, ``list[str]``, ``list[float]`` and
``dict[str, int]``; if/while/for/range/enumerate, ``match`` on literals, flow and ``@pure``
calls, ``print``, and JSON round trips. They mix the value classes where typed code most easily
drifts from CPython (``FEATURES``): ``min``/``max`` of an int, a float and a bool (Python returns
one argument unchanged), int/float comparisons beyond 2**53 and 2**63, NaN in container tests
(``x in [y, x]``, ``[x] == [x]``: identity first, so the same NaN object is equal to itself),
``isinstance(b, int)`` on bools, ``case 1:`` on a bool and ``case 0.0:`` on an int, bools
kept in ``list[int | bool | str]`` and ``dict[str, int | bool | None]``, and big ints, NaN,
infinities and surrogates through ``json_marshal``/``json_unmarshal``.

Every program means the same under deepslate and CPython, or is code Python's typing accepts
that the compiler refuses (which the differential check reports). The generator keeps away
from deepslate's documented differences (docs/language.md, "Where flows differ from Python"):
a float slot holds a float, so a float variable or parameter that was given an int is only read
as ``(x * 1.0)`` or ``float(x)``, which mean the same either way, and never holds an int too big
for a float; a mixed ``min``/``max`` is printed, compared or converted, never stored or
computed with; no dict gets a new key, nor list an item, while a ``for`` walks it (not even
through a called flow); exponents stay small. The constructs the compiler refuses on purpose
(``REFUSED``: arithmetic and ordering on bools, a bool where only int is declared, a test
that can never be true) are left out unless ``exclude`` lets them in.

Every program finishes quickly on both sides. ``Gen.measure`` reads a size bound off each
expression (bits of an int, chars of a str, items of a list or dict) and a value over ``CAP``
is not stored. Inside a loop an outer variable grows by at most a literal per iteration (an
int is reduced modulo a literal), within a per-flow budget of chars and items; the product of
the trip counts of the loops around any statement stays under ``LOOP_CAP``, and a flow called
in a loop brings its own loops (``CALL_CAP``).
"""
from __future__ import annotations

import ast
import random
from dataclasses import dataclass, field

INT, FLOAT, BOOL, STR = "int", "float", "bool", "str"
LI, LS, LF, DSI = "list[int]", "list[str]", "list[float]", "dict[str, int]"
SCALARS = [INT, FLOAT, BOOL, STR]
TYPES = SCALARS + [LI, LS, LF, DSI]
ELEM = {LI: INT, LS: STR, LF: FLOAT}
SIZED = (STR, LI, LS, LF, DSI)
NUM = "int | float"          # a min/max of mixed numbers: one of its arguments, unchanged

FEATURES = {
    "mixed": "min/max of ints, floats and bools (one argument, unchanged), printed, compared, converted",
    "isinstance": "isinstance that may be true: a bool is an int",
    "bool_eq": "== and != between a bool and an int or a float: True == 1.0",
    "match_types": "number patterns of a neighbouring type: case 1 on a bool, case 0.0 on an int",
    "float_slot": "an int given to a float variable or parameter (deepslate stores a float)",
    "union": "bools kept in list[int | bool | str] and dict[str, int | bool | None], narrowed and used",
    "json": "json_marshal/json_unmarshal round trips and decoding of literal JSON",
    # refused by the compiler on purpose (docs/language.md, where flows differ from Python)
    "bool_arith": "arithmetic, ordering and float()/abs/unary minus on bools: True + 1",
    "bool_slot": "a bool given to an int or float variable or parameter, or to int | str: x: int = True",
    "never_true": "an isinstance or case no value of the type satisfies: isinstance(i, bool), case True on an int",
}
REFUSED = frozenset({"bool_arith", "bool_slot", "never_true"})

# parenthesized where an operator inside could bind to a neighbour (2 ** 62 ** 3 is 2 ** 238328)
INT_LITS = ["0", "1", "2", "3", "-1", "-2", "5", "7", "10", "-13", "100", "(2 ** 62)", "-(2 ** 63)",
            "9223372036854775807", "(10 ** 20)", "-7", "(2 ** 63)", "(2 ** 63 + 1)", "(2 ** 64)", "(-(2 ** 63) - 1)",
            "(10 ** 400)"]
FLOAT_LITS = ["0.0", "-0.0", "0.5", "1.5", "-2.25", "3.0", "1e300", "-1e-300", "7.75", "0.1",
              "float('nan')", "float('inf')", "(-float('inf'))", "(2.0 ** 63)", "9007199254740993.0", "5e-324",
              "float('-nan')"]
STR_LITS = ["''", "'a'", "'bc'", "'x y'", "'héllo'", "'12'", "'-3'", "' 7 '", "'1.5'", "'Z'", "'nan'", "'-inf'",
            "'inf'", r"'\ud800'", r"'a\udcffb'", r"'\U0001f600'", r"'a\U0001f600'", r"'\ud800\udc00'"]
MAXLIT = max(len(eval(s)) for s in STR_LITS)  # noqa: S307 - our own literals
KEYS = ["'a'", "'b'", "'c'", "'k'", r"'\udcff'"]
# inside an f-string's braces Python before 3.12 allows no backslash
PLAIN_STRS = [s for s in STR_LITS if "\\" not in s]
PLAIN_KEYS = [s for s in KEYS if "\\" not in s]
# literal JSON for json_unmarshal[T]: big ints, non-finite floats (written as strings), escapes of
# lone surrogates and of a surrogate pair, and a few that are not a T
JSON_DATA = {
    INT: [r"b'18446744073709551616'", r"b'-9223372036854775809'", r"b'7'", r"b'true'", r"b'1e3'"],
    FLOAT: [r"""b'"NaN"'""", r"""b'"-Infinity"'""", r"b'1e400'", r"b'12345678901234567890123'", r"b'-0.0'",
            r"b'NaN'"],
    BOOL: [r"b'true'", r"b'1'"],
    STR: [r"""b'"\\ud800"'""", r"""b'"\\ud83d\\ude00"'""", r"""b'"\\udcff x"'""", r"""b'"\\u00e9"'"""],
    LI: [r"b'[18446744073709551616, -1, 0]'", r"b'[1, 2.0]'", r"b'[]'", r"b'[-9223372036854775809]'"],
    LF: [r"""b'["NaN", "Infinity", 1, -0.0]'""", r"b'[1e400, -1e400]'", r"b'[NaN]'"],
    LS: [r"""b'["\\ud800", "\\ud83d\\ude00", "\\u00e9"]'""", r"""b'["a", 1]'"""],
    DSI: [r"""b'{"a": 18446744073709551616, "b": -1}'""", r"""b'{"\\udcff": 3}'"""],
}

# bounds on what a program builds: bits of an int, chars of a str, items of a list or dict
CAP = {INT: 4096, STR: 2000, LI: 48, LS: 48, LF: 48, DSI: 48}
PARAM = {INT: 2048, STR: 256, LI: 8, LS: 8, LF: 8, DSI: 8, FLOAT: 0, BOOL: 1}    # also what a helper returns
ITEM = {INT: 1400, STR: 40, FLOAT: 0}       # an element of a list or a dict value
LOOP_CAP = 96          # product of the trip counts of the loops around a statement
CALL_CAP = 192         # a call's trip count product times the callee's heaviest statement
ITEM_BUDGET = 12       # list and dict items added per run of a flow (appends, new keys)
CHAR_BUDGET = 240      # chars a flow's strs gain per run inside loops
INF = 1 << 40
# what a flow does with a member of int | bool | str: a bool, an int, either (int | bool)
BOOL_USES = ["{x}", "str({x})", "int({x})", "(not {x})", 'f"{{ {x} }}"', "[{x}]"]
INT_USES = ["{x}", "({x} + 1)", "({x} * 2)", "(-{x})", "({x} == 1)", "({x} < 1)", "float({x})", "abs({x})",
            "str({x})", "[{x}]", "({x} // 2)", "max({x}, 0)", 'f"{{ {x} }}"', "min({x}, 1.5)", "({x} + 0.5)",
            "({x} in [1, 2])", "isinstance({x}, bool)"]
WIDE_USES = ["{x}", "str({x})", 'f"{{ {x} }}"', "[{x}]", "({x} == 1)", "int({x})", "isinstance({x}, bool)"]
SMALL = {INT: "1", FLOAT: "0.5", BOOL: "True", STR: "'a'", LI: "[0]", LS: "['a']", LF: "[0.5]", DSI: "{'a': 1}"}


@dataclass
class Var:
    name: str
    type: str
    frozen: bool = False        # a loop counter: only its loop changes it
    bound: int = 0              # size bound, without the growth of the flow's loops
    taint: bool = False         # CPython may hold a bool (int slot) or an int (float slot) here
    root: bool = True           # declared outside every loop of its flow


@dataclass
class Fn:
    name: str
    params: list[tuple[str, str]]
    ret: str
    taints: tuple[bool, ...] = ()
    cost: int = 1               # the heaviest statement: its loops' trip count product
    items: int = 0              # items one call may add to lists and dicts it was given
    mutates: bool = False       # may add items to a list or dict argument


@dataclass
class Ctx:
    scopes: list[list[Var]] = field(default_factory=lambda: [[]])
    loop: int = 0               # enclosing loops
    weight: int = 1             # product of their trip counts
    in_for_list: int = 0        # enclosing for-over-list loops: no appends (the list could grow forever)
    in_for_dict: int = 0        # enclosing for-over-dict loops: no new keys (CPython would raise)
    outer_names: set = field(default_factory=set)   # variables declared outside the innermost loop

    def visible(self, t: str | None = None, writable: bool = False) -> list[Var]:
        return [v for s in self.scopes for v in s
                if (t is None or v.type == t) and not (writable and v.frozen)]


class Gen:
    def __init__(self, seed: int, max_stmts: int = 7, exclude: frozenset[str] | set[str] = REFUSED):
        unknown = set(exclude) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown features {sorted(unknown)}; known: {sorted(FEATURES)}")
        self.r = random.Random(seed)
        self.max_stmts = max_stmts
        self.exclude = frozenset(exclude)
        self.used: set[str] = set()     # the features this program got
        self.n = 0
        self.fns: list[Fn] = []
        self.ctx = Ctx()
        self.in_fstring = False
        self.items = 0          # per flow: ITEM_BUDGET used
        self.chars = 0          # per flow: CHAR_BUDGET used
        self.cost = 1
        self.mutates = False
        self.fn_name = "main"
        self.trees: dict[str, ast.AST] = {}     # parsed expressions, by text

    def fresh(self, prefix: str = "v") -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def on(self, feature: str, p: float = 1.0) -> bool:
        """Whether to use a feature's production now (a draw even when it is excluded)."""
        if self.r.random() < p and feature not in self.exclude:
            self.used.add(feature)
            return True
        return False

    # -- sizes ------------------------------------------------------------------------
    def lookup(self, name: str) -> Var:
        for scope in reversed(self.ctx.scopes):
            for v in scope:
                if v.name == name:
                    return v
        raise KeyError(name)

    def growth(self, t: str) -> int:
        # in a loop a later statement may already have run; outside, only what came before
        if t == STR:
            return CHAR_BUDGET if self.ctx.loop else self.chars
        return ITEM_BUDGET if self.ctx.loop else self.items

    def measure(self, text: str) -> tuple[str, int, int, int]:
        """(type, a, c, i) for an expression this generator made: its size is at most
        a + c * (char growth) + i * (item growth), in bits for an int, in items for a list or a
        dict (whose elements are within ``ITEM``), in chars for a str."""
        tree = self.trees.get(text)
        if tree is None:
            tree = self.trees[text] = ast.parse(text.strip(), mode="eval").body
        return self._m(tree)

    def _value(self, m: tuple[str, int, int, int]) -> int:
        return m[1] + m[2] * self.growth(STR) + m[3] * self.growth(LI)

    def size(self, text: str) -> int:
        return self._value(self.measure(text))

    def bound_of(self, text: str, t: str, m: tuple[str, int, int, int] | None = None) -> int:
        """The bound to keep for a variable given ``text``. Every str (list, dict) is at most its
        bound plus the flow's char (item) growth: when the value depends on that growth at most
        once (``s + 'a'``, an alias), its bound need not include it."""
        _, a, c, i = m = m or self.measure(text)
        if t == STR and c <= 1:
            return a + i * self.growth(LI)
        if t in (LI, LS, LF, DSI) and i <= 1:
            return a + c * self.growth(STR)
        return self._value(m)

    def _m(self, n: ast.AST) -> tuple[str, int, int, int]:
        f = _MEASURE.get(type(n))
        return f(self, n) if f else (STR, INF, 0, 0)

    def _m_constant(self, n: ast.Constant) -> tuple[str, int, int, int]:
        v = n.value
        if v is True or v is False:
            return BOOL, 1, 0, 0
        if type(v) is int:
            return INT, max(1, v.bit_length()), 0, 0
        if type(v) is float:
            return FLOAT, 0, 0, 0
        return (STR if type(v) is str else "bytes"), len(v), 0, 0

    def _m_name(self, n: ast.Name) -> tuple[str, int, int, int]:
        var = self.lookup(n.id)
        return var.type, var.bound, int(var.type == STR), int(var.type in (LI, LS, LF, DSI))

    def _m_list(self, n: ast.List | ast.Dict) -> tuple[str, int, int, int]:
        elts = [self._m(e) for e in (n.elts if type(n) is ast.List else n.values)]
        if any(self._value(e) > ITEM.get(e[0], INF) for e in elts):
            return LI, INF, 0, 0
        if type(n) is ast.Dict:
            return DSI, len(elts), 0, 0
        kinds = {e[0] for e in elts}
        return (LF if FLOAT in kinds else LS if STR in kinds else LI), len(elts), 0, 0

    def _m_binop(self, n: ast.BinOp) -> tuple[str, int, int, int]:
        left, right = self._m(n.left), self._m(n.right)
        op = type(n.op)
        if left[0] in SIZED or right[0] in SIZED:
            if op is ast.Add:
                return left[0], left[1] + right[1], left[2] + right[2], left[3] + right[3]
            seq, times = (left, n.right) if left[0] in SIZED else (right, n.left)
            k = self._repeat(times)
            return seq[0], seq[1] * k, seq[2] * k, seq[3] * k
        if op is ast.Div or left[0] == FLOAT or right[0] == FLOAT:
            return FLOAT, 0, 0, 0
        lb, rb = self._value(left), self._value(right)
        if op is ast.Add or op is ast.Sub:
            return INT, max(lb, rb) + 1, 0, 0
        if op is ast.Mult:
            return INT, lb + rb, 0, 0
        if op is ast.FloorDiv:
            return INT, lb + 1, 0, 0
        if op is ast.Mod:
            return INT, rb, 0, 0
        if op is ast.Pow and type(n.right) is ast.Constant and type(n.right.value) is int:
            return INT, lb * max(1, n.right.value), 0, 0
        return INT, INF, 0, 0

    def _m_unaryop(self, n: ast.UnaryOp) -> tuple[str, int, int, int]:
        if type(n.op) is ast.Not:
            return BOOL, 1, 0, 0
        t, a, c, i = self._m(n.operand)
        return (INT if t == BOOL else t), a, c, i

    def _m_bool(self, n: ast.AST) -> tuple[str, int, int, int]:
        return BOOL, 1, 0, 0

    def _m_ifexp(self, n: ast.IfExp) -> tuple[str, int, int, int]:
        x, y = self._m(n.body), self._m(n.orelse)
        return x[0], max(x[1], y[1]), max(x[2], y[2]), max(x[3], y[3])

    def _m_subscript(self, n: ast.Subscript) -> tuple[str, int, int, int]:
        t = self._m(n.value)[0]
        if t == STR:
            return STR, 1, 0, 0
        el = ELEM.get(t, INT)
        return el, ITEM[el], 0, 0

    def _m_fstring(self, n: ast.JoinedStr) -> tuple[str, int, int, int]:
        parts = [(STR, len(v.value), 0, 0) if type(v) is ast.Constant else self._chars(self._m(v.value))
                 for v in n.values]
        return STR, sum(p[1] for p in parts), sum(p[2] for p in parts), sum(p[3] for p in parts)

    def _m_callnode(self, n: ast.Call) -> tuple[str, int, int, int]:
        if type(n.func) is not ast.Name:
            return STR, INF, 0, 0
        if n.func.id == "isinstance":
            return BOOL, 1, 0, 0
        return self._m_call(n.func.id, [self._m(a) for a in n.args])

    @staticmethod
    def _repeat(times: ast.AST) -> int:
        # a sequence repeated ``n % 4`` times (or a literal number of times)
        if isinstance(times, ast.BinOp) and isinstance(times.op, ast.Mod) and isinstance(times.right, ast.Constant):
            return abs(times.right.value) - 1
        if isinstance(times, ast.Constant) and type(times.value) is int:
            return max(0, times.value)
        return INF

    def _chars(self, x: tuple[str, int, int, int]) -> tuple[str, int, int, int]:
        """``str(x)``."""
        t, a, c, i = x
        if t == STR:
            return x
        if t in (INT, NUM):
            return STR, max(24 if t == NUM else 0, self._value(x) * 31 // 100 + 2), 0, 0
        if t in (FLOAT, BOOL):
            return STR, 24, 0, 0
        per = {LI: ITEM[INT] * 31 // 100 + 4, LS: 6 * ITEM[STR] + 4, LF: 26, DSI: 6 * ITEM[STR] + ITEM[INT] // 3 + 8}
        k = per.get(t, INF)
        return STR, a * k + 2, c * k, i * k

    def _m_call(self, name: str, args: list[tuple[str, int, int, int]]) -> tuple[str, int, int, int]:
        if name == "len":
            return INT, max(1, self._value(args[0]).bit_length()) + 1, 0, 0
        if name == "str":
            return self._chars(args[0])
        if name == "int":
            t = args[0][0]
            return INT, {FLOAT: 1025, NUM: 1025, STR: self._value(args[0]) * 333 // 100 + 2, BOOL: 1}.get(
                t, self._value(args[0])), 0, 0
        if name in ("float", "scale", "ratio"):
            return FLOAT, 0, 0, 0
        if name == "has":
            return BOOL, 1, 0, 0
        if name == "abs":
            t, a, c, i = args[0]
            return (INT if t == BOOL else t), a, c, i
        if name in ("min", "max"):
            if len(args) == 1:
                el = ELEM.get(args[0][0], INT)
                return el, ITEM[el], 0, 0
            kinds = {INT if x[0] == BOOL else x[0] for x in args}
            t = kinds.pop() if len(kinds) == 1 else NUM
            return t, max(x[1] for x in args), max(x[2] for x in args), max(x[3] for x in args)
        if name == "pick":
            return INT, ITEM[INT], 0, 0
        if name == "shout":
            _, a, c, i = args[0]
            return STR, 2 * a + 2, 2 * c, 2 * i
        if name == "digits":
            return INT, self._value(args[0]) * 333 // 100 + 2, 0, 0
        fn = next((f for f in self.fns if f.name == name), None)
        if fn is not None:
            return fn.ret, PARAM[fn.ret], 0, 0
        return STR, INF, 0, 0

    def fit(self, t: str, limit: int, d: int = 0, small: bool = False) -> str:
        """An expression of type ``t`` whose size bound is within ``limit`` (else a literal)."""
        return self.fit_measured(t, limit, d, small)[0]

    def fit_measured(self, t: str, limit: int, d: int = 0, small: bool = False,
                     tries: int = 4) -> tuple[str, tuple[str, int, int, int] | None]:
        if t in (FLOAT, BOOL):
            return self.expr(t, d, small), None
        for _ in range(tries):
            text = self.expr(t, d, small)
            m = self.measure(text)
            if self._value(m) <= limit:
                return text, m
        text = self.literal(t, d)
        m = self.measure(text)
        return (text, m) if self._value(m) <= limit else (SMALL[t], None)

    # -- expressions ------------------------------------------------------------------
    def var(self, t: str, roots: bool = False) -> str | None:
        # roots: only variables declared outside every loop, which a loop changes only by a little
        vs = [v for v in self.ctx.visible(t) if v.root or not roots]
        if not vs:
            return None
        v = self.r.choice(vs)
        if v.taint:
            # CPython may hold True (or 3) where deepslate holds 1 (or 3.0): read it as a value
            # that is the same either way
            return self.r.choice([f"({v.name} + 0)", f"int({v.name})"] if t == INT else
                                 [f"({v.name} * 1.0)", f"float({v.name})"])
        return v.name

    def expr(self, t: str, d: int = 0, small: bool = False) -> str:
        leaf = d >= 3 or self.chance(0.25 + 0.2 * d)
        if leaf:
            v = self.var(t, roots=small)
            if v is not None and self.chance(0.6):
                return v
            return self.literal(t, d)
        return getattr(self, "e_" + {INT: "int", FLOAT: "float", BOOL: "bool", STR: "str", LI: "li",
                                     LS: "ls", LF: "lf", DSI: "dsi"}[t])(d + 1, small)

    def literal(self, t: str, d: int) -> str:
        r = self.r
        if t == INT:
            return r.choice(INT_LITS)
        if t == FLOAT:
            return r.choice(FLOAT_LITS)
        if t == BOOL:
            return r.choice(["True", "False"])
        if t == STR:
            return r.choice(PLAIN_STRS if self.in_fstring else STR_LITS)
        if t in ELEM:
            lits = {LI: INT_LITS[:-1], LS: PLAIN_STRS if self.in_fstring else STR_LITS, LF: FLOAT_LITS}[t]
            return "[" + ", ".join(r.choice(lits) for _ in range(r.randint(1, 3))) + "]"
        return "{" + ", ".join(f"{self.key()}: {r.choice(INT_LITS[:-1])}" for _ in range(r.randint(1, 3))) + "}"

    def index(self, d: int) -> str:
        # mostly in range, so that fewer programs stop at their first index
        return self.r.choice(["0", "-1", "0", "1", self.expr(INT, d + 1)])

    def key(self) -> str:
        return "'a'" if self.r.random() < 0.6 else self.r.choice(PLAIN_KEYS if self.in_fstring else KEYS)

    def call(self, t: str, d: int) -> str | None:
        ctx = self.ctx
        fns = [f for f in self.fns if f.ret == t and ctx.weight * f.cost <= CALL_CAP
               and not (f.mutates and (ctx.in_for_list or ctx.in_for_dict))
               and self.items + ctx.weight * f.items <= ITEM_BUDGET]
        if not fns or d > 2:
            return None
        f = self.r.choice(fns)
        args = []
        for (_, pt), taint in zip(f.params, f.taints or [False] * len(f.params)):
            if taint and pt == INT and self.on("bool_slot", 0.5):
                args.append(self.expr(BOOL, d + 1))
            elif taint and pt == FLOAT and self.on("float_slot", 0.4):
                args.append(self.fit(INT, 1000, d + 1))
            elif taint and pt == FLOAT and self.on("bool_slot", 0.2):
                args.append(self.expr(BOOL, d + 1))
            else:
                args.append(self.fit(pt, PARAM[pt], d + 1) if pt in SIZED or pt == INT else self.expr(pt, d + 1))
        self.cost = max(self.cost, ctx.weight * f.cost)
        self.items += ctx.weight * f.items
        self.mutates |= f.mutates
        return f"{f.name}(" + ", ".join(args) + ")"

    def mixed(self, d: int, bools: bool = True, kinds: list[str] | None = None) -> str:
        """min/max of numbers of different types: CPython returns one argument as it is."""
        r, e = self.r, self.expr
        if kinds is None and bools and r.random() < 0.3:
            kinds = r.choice([[BOOL, INT], [BOOL, FLOAT], [INT, FLOAT, BOOL]])
        elif kinds is None:
            kinds = r.choice([[INT, FLOAT], [INT, FLOAT], [INT, INT, FLOAT], [FLOAT, INT, FLOAT]])
        kinds = list(kinds)
        r.shuffle(kinds)
        return f"{r.choice(['min', 'max'])}(" + ", ".join(e(k, d) for k in kinds) + ")"

    def e_int(self, d: int, small: bool) -> str:
        r, e = self.r, self.expr
        k = r.randint(0, 17)
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
            return f"len({e(r.choice([STR, LI, LS, LF, DSI]), d)})"
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
        if k == 14 and self.on("bool_arith"):
            # arithmetic on a bool gives an int
            w = r.randint(0, 4)
            if w == 0:
                return f"({e(BOOL, d)} {r.choice(['+', '-', '*', '//', '%'])} {e(INT, d)})"
            if w == 1:
                return f"({e(INT, d)} {r.choice(['+', '-', '*', '//', '%'])} {e(BOOL, d)})"
            if w == 2:
                return f"({e(BOOL, d)} {r.choice(['+', '-', '*'])} {e(BOOL, d)})"
            if w == 3:
                return f"{r.choice(['-', '+', 'abs'])}({e(BOOL, d)})"
            return f"({e(BOOL, d)} ** {r.randint(0, 2)})"
        if k == 15 and self.on("mixed"):
            return f"int({self.mixed(d)})"
        v = self.var(INT)
        return v if v else self.literal(INT, d)

    def e_float(self, d: int, small: bool) -> str:
        r, e = self.r, self.expr
        k = r.randint(0, 14)
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
            return f"{r.choice(['min', 'max'])}({e(FLOAT, d)}, {e(FLOAT, d)})"
        if k == 9:
            return f"({e(FLOAT, d)} if {e(BOOL, d)} else {e(FLOAT, d)})"
        if k == 10:
            return self.call(FLOAT, d) or e(FLOAT, d)
        if k == 11:
            return f"{e(LF, d)}[{self.index(d)}]" if r.random() < 0.7 else f"{r.choice(['min', 'max'])}({e(LF, d)})"
        if k == 12 and self.on("bool_arith"):
            w = r.randint(0, 3)
            if w == 0:
                return f"({e(BOOL, d)} {r.choice(['+', '-', '*', '/'])} {e(FLOAT, d)})"
            if w == 1:
                return f"({e(FLOAT, d)} {r.choice(['+', '-', '*', '/'])} {e(BOOL, d)})"
            if w == 2:
                return f"({e(BOOL, d)} / {e(r.choice([INT, BOOL]), d)})"
            return f"float({e(BOOL, d)})"
        if k == 13 and self.on("mixed"):
            return f"float({self.mixed(d)})"
        return self.literal(FLOAT, d)

    def e_bool(self, d: int, small: bool) -> str:
        r, e = self.r, self.expr
        k = r.randint(0, 13)
        cmp = ["<", "<=", "==", "!=", ">", ">="]
        if k <= 2:
            t = r.choice([INT, INT, FLOAT, STR])
            return f"({e(t, d)} {r.choice(cmp)} {e(t, d)})"
        if k == 3:
            a, b = e(INT, d), e(FLOAT, d)
            if r.random() < 0.5:
                a, b = b, a
            return f"({a} {r.choice(cmp)} {b})"
        if k == 4:
            return f"({e(INT, d)} {r.choice(['<', '<='])} {e(INT, d)} {r.choice(['<', '<='])} {e(INT, d)})"
        if k == 5:
            return f"({e(BOOL, d)} {r.choice(['and', 'or'])} {e(BOOL, d)})"
        if k == 6:
            return f"(not {e(BOOL, d)})"
        if k == 7:
            which = r.randint(0, 3)
            if which == 0:
                return f"({e(INT, d)} {r.choice(['in', 'not in'])} {e(LI, d)})"
            if which == 1:
                return f"({self.key()} {r.choice(['in', 'not in'])} {e(DSI, d)})"
            if which == 2:
                return f"({e(STR, d)} {r.choice(['in', 'not in'])} {e(LS, d)})"
            return f"({e(STR, d)} {r.choice(['in', 'not in'])} {e(STR, d)})"
        if k == 8:
            t = r.choice([LI, LS, LF])
            return f"({e(t, d)} {r.choice(['==', '!=', '<'])} {e(t, d)})"
        if k == 9:
            # NaN in a list: membership and == look at identity before equality
            x = self.var(FLOAT) or r.choice(["float('nan')", "float('inf')", "0.0"])
            w = r.randint(0, 2)
            if w == 0:
                return f"({x} {r.choice(['in', 'not in'])} {e(LF, d)})"
            if w == 1:
                y = e(FLOAT, d)
                return r.choice([f"({x} in [{x}])", f"({x} in [{y}, {x}])",
                                 f"([{x}] {r.choice(['==', '!=', '<='])} [{x}])",
                                 f"([{x}, {y}] {r.choice(['==', '!='])} [{x}, {y}])"])
            return f"has({x}, {e(LF, d)})"
        if k == 10 and self.on("bool_eq"):
            a, b = e(BOOL, d), e(r.choice([INT, FLOAT, INT]), d)
            if r.random() < 0.5:
                a, b = b, a
            # ordering a bool is refused
            return f"({a} {r.choice(cmp if self.on('bool_arith', 0.3) else ['==', '!='])} {b})"
        if k == 11 and self.on("isinstance"):
            if self.on("never_true", 0.3):
                t, cls = r.choice([(INT, "bool"), (INT, "float"), (FLOAT, "int"), (FLOAT, "(int, str)")])
            else:
                t, cls = r.choice([(BOOL, "int"), (BOOL, "bool"), (INT, "int"), (FLOAT, "float"), (BOOL, "(int, str)"),
                                   (STR, "str"), (INT, "(str, int)")])
            return f"isinstance({e(t, d)}, {cls})"
        if k == 12 and self.on("mixed"):
            # a bool on either side: == and != only (ordering a bool is refused)
            if self.on("bool_arith", 0.3):
                return f"({self.mixed(d)} {r.choice(cmp)} {e(r.choice([BOOL, INT, FLOAT]), d)})"
            if r.random() < 0.6:
                return f"({self.mixed(d, bools=False)} {r.choice(cmp)} {e(r.choice([INT, FLOAT]), d)})"
            return f"({self.mixed(d)} {r.choice(['==', '!='])} {e(r.choice([BOOL, INT, FLOAT]), d)})"
        return self.call(BOOL, d) or self.literal(BOOL, d)

    def e_str(self, d: int, small: bool) -> str:
        r, e = self.r, self.expr
        k = r.randint(0, 10)
        if k <= 1:
            if small:
                # in a loop: an outer str grows by at most a literal per iteration
                return f"({self.var(STR, roots=True) or self.literal(STR, d)} + {self.literal(STR, d)})"
            return f"({e(STR, d)} + {e(STR, d)})"
        if k == 2 and not small:
            return f"({e(STR, d)} * ({e(INT, d)} % 4))"
        if k == 3:
            return f"str({e(r.choice([INT, FLOAT, BOOL, LF]), d)})"
        if k == 4:
            return f"{e(STR, d)}[{self.index(d)}]"
        if k == 5 and not self.in_fstring:
            # no f-string inside another: Python before 3.12 cannot parse one
            parts = [r.choice([INT, FLOAT, BOOL, NUM] + ([] if small else [STR])) for _ in range(r.randint(1, 3))]
            self.in_fstring = True
            try:
                return 'f"' + "-".join("{ " + (self.mixed(d) if t == NUM else e(t, d)) + " }"
                                       for t in parts if t != NUM or "mixed" not in self.exclude) + '"'
            finally:
                self.in_fstring = False
        if k == 6:
            return f"{e(LS, d)}[{self.index(d)}]"
        if k == 7 and not small:
            return self.call(STR, d) or self.literal(STR, d)
        if k == 8 and self.on("mixed"):
            return f"str({self.mixed(d)})"
        return self.literal(STR, d)

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

    def e_lf(self, d: int, small: bool) -> str:
        r, e = self.r, self.expr
        k = r.randint(0, 4)
        if k == 0 or small:
            return "[" + ", ".join(e(FLOAT, d) for _ in range(r.randint(1, 3))) + "]"
        if k == 1:
            return f"({e(LF, d)} + {e(LF, d)})"
        if k == 2:
            return f"([{e(FLOAT, d)}] * ({e(INT, d)} % 4))"
        if k == 3:
            # one float object (a NaN, perhaps) twice
            x = self.var(FLOAT) or "float('nan')"
            return f"[{x}, {e(FLOAT, d)}, {x}]" if r.random() < 0.5 else f"[{x}]"
        return self.call(LF, d) or self.literal(LF, d)

    def e_dsi(self, d: int, small: bool) -> str:
        r = self.r
        return "{" + ", ".join(f"{self.key()}: {self.expr(INT, d)}" for _ in range(r.randint(1, 3))) + "}"

    # -- statements -------------------------------------------------------------------
    def declare(self, t: str, frozen: bool = False, bound: int = 0, taint: bool = False) -> Var:
        v = Var(self.fresh(), t, frozen, bound, taint, root=not self.ctx.loop)
        self.ctx.scopes[-1].append(v)
        return v

    def block(self, pad: str, ret: str, depth: int, n: int | None = None) -> list[str]:
        self.ctx.scopes.append([])
        out: list[str] = []
        for _ in range(n if n is not None else self.r.randint(1, 4)):
            out += self.stmt(pad, ret, depth)
        self.ctx.scopes.pop()
        return out or [pad + "pass"]

    def value_for(self, v: Var, new: bool = False) -> str:
        """A value for ``v`` (declared when ``new``, else reassigned); inside a loop, an outer
        variable's size stays bounded. Updates the bound and the taint of ``v``."""
        ctx, r = self.ctx, self.r
        grows = ctx.loop and v.name in ctx.outer_names
        # only a new variable takes the taint: a loop may already have read an old one plainly
        if v.type == INT and (new or v.taint) and self.on("bool_slot", 0.08):
            v.taint = True
            return self.expr(BOOL)
        if v.type == FLOAT and (new or v.taint) and self.on("float_slot", 0.1):
            v.taint = True
            return self.fit(INT, 1000)
        if v.type == FLOAT and (new or v.taint) and self.on("bool_slot", 0.04):
            v.taint = True
            return self.expr(BOOL)
        if not grows:
            if v.type not in CAP:
                return self.expr(v.type)
            text, m = self.fit_measured(v.type, CAP[v.type])
            v.bound = max(v.bound, self.bound_of(text, v.type, m))
            return text
        if v.type == INT:
            text = f"({self.expr(INT)}) % {r.choice(['7', '-5', '1000003', '97', '-(2 ** 40)'])}"
        elif v.type == STR:
            if self.chars + ctx.weight * MAXLIT > CHAR_BUDGET:
                return self.literal(STR, 0)
            self.chars += ctx.weight * MAXLIT
            text = self.expr(STR, small=True)
        elif v.type in SIZED:
            text, m = self.fit_measured(v.type, CAP[v.type], small=True)
            v.bound = max(v.bound, self.bound_of(text, v.type, m))
            return text
        else:
            return self.expr(v.type)
        v.bound = max(v.bound, self.bound_of(text, v.type))
        return text

    def stmt(self, pad: str, ret: str, depth: int) -> list[str]:
        r, ctx = self.r, self.ctx
        self.cost = max(self.cost, ctx.weight)
        k = r.randint(0, 18 if depth < 3 else 7)
        if k == 16:
            return self.match(pad, ret, depth)
        if k >= 17:
            # rarer than the others: each is several lines for the compiler
            if k == 17 and self.on("json", 0.35):
                return self.json(pad, ret, depth)
            if k == 18 and self.on("union", 0.35):
                return self.union(pad, ret, depth)
            return [f"{pad}print({self.expr(r.choice(SCALARS + [LF]))})"]
        if k <= 1:
            t = r.choice(TYPES)
            if t in (LI, LS, LF, DSI) and r.random() < 0.15:
                v = self.declare(t)
                return [f"{pad}{v.name}: {t} = {'{}' if t == DSI else '[]'}"]
            v = Var(self.fresh(), t)
            rhs = self.value_for(v, new=True)
            v.root = not ctx.loop
            ctx.scopes[-1].append(v)
            return [f"{pad}{v.name}: {t} = {rhs}"]
        if k <= 3:
            vs = ctx.visible(writable=True)
            if not vs:
                return self.stmt(pad, ret, depth)
            v = r.choice(vs)
            if v.type in (INT, FLOAT, STR) and r.random() < 0.3 and not (ctx.loop and v.name in ctx.outer_names):
                op = r.choice(["+=", "-=", "*="] if v.type != STR else ["+="])
                rhs = self.expr(BOOL) if v.type == INT and self.on("bool_arith", 0.15) else self.expr(v.type)
                whole = f"({v.name}) {op[0]} ({rhs})"
                if v.type == FLOAT or self.size(whole) <= CAP[v.type]:
                    if v.type != FLOAT:
                        v.bound = max(v.bound, self.bound_of(whole, v.type))
                    return [f"{pad}{v.name} {op} {rhs}"]
            return [f"{pad}{v.name} = {self.value_for(v)}"]
        if k == 4:
            xs = ctx.visible(r.choice([LI, LS, LF]))
            if xs and not ctx.in_for_list and self.items + ctx.weight <= ITEM_BUDGET:
                x = xs[r.randrange(len(xs))]
                self.items += ctx.weight
                self.mutates = True
                return [f"{pad}{x.name}.append({self.item(ELEM[x.type])})"]
            if xs:
                x = r.choice(xs)
                return [f"{pad}{x.name}[{self.index(0)}] = {self.item(ELEM[x.type])}"]
            return [f"{pad}pass"]
        if k == 5:
            ds = ctx.visible(DSI)
            if ds and not ctx.in_for_dict and self.items + ctx.weight <= ITEM_BUDGET:
                self.items += ctx.weight
                self.mutates = True
                return [f"{pad}{r.choice(ds).name}[{self.key()}] = {self.item(INT)}"]
            return [f"{pad}print({', '.join(self.expr(r.choice(SCALARS)) for _ in range(r.randint(1, 3)))})"]
        if k == 6:
            if ctx.loop:
                return [f"{pad}if {self.expr(BOOL)}:", f"{pad}    {r.choice(['break', 'continue'])}"]
            return [f"{pad}print({self.expr(r.choice(SCALARS + [LI, LF]))})"]
        if k == 7:
            if r.random() < 0.5:
                return [f"{pad}if {self.expr(BOOL)}:", f"{pad}    return {self.result(ret)}"]
            return [f"{pad}print({self.expr(r.choice(SCALARS))})"]
        if k <= 9:
            return self.if_stmt(pad, ret, depth)
        return self.loop(pad, ret, depth, k)

    def item(self, t: str) -> str:
        """A value to store in a list or dict: small, so that a list stays small however it is aliased."""
        return self.fit(t, ITEM[t], small=True)

    def result(self, ret: str) -> str:
        return self.fit(ret, PARAM[ret] if self.fn_name != "main" else CAP[ret]) if ret in CAP else self.expr(ret)

    def if_stmt(self, pad: str, ret: str, depth: int) -> list[str]:
        r = self.r
        out = [f"{pad}if {self.expr(BOOL)}:"] + self.block(pad + "    ", ret, depth + 1)
        for _ in range(r.randint(0, 2)):
            out += [f"{pad}elif {self.expr(BOOL)}:"] + self.block(pad + "    ", ret, depth + 1)
        if r.random() < 0.5:
            out += [f"{pad}else:"] + self.block(pad + "    ", ret, depth + 1)
        return out

    def match(self, pad: str, ret: str, depth: int) -> list[str]:
        r = self.r
        t = r.choice([INT, STR, BOOL, FLOAT])
        lits = {INT: ["0", "1", "-1", "3", "7", "100"], STR: ["'a'", "''", "'12'", "'Z'", r"'\ud800'"],
                BOOL: ["True", "False"], FLOAT: ["0.0", "-0.0", "1.5", "-2.25", "1e300"]}[t]
        # a literal of another numeric type: compared with ==, except True, False and None (by identity)
        near = {INT: ["0.0", "-0.0", "1.0", "3.0", "-1.0"], BOOL: ["1", "0", "1.0", "0.0"],
                FLOAT: ["0", "1", "-1", "3"], STR: []}[t]
        never = {INT: ["True", "False"], FLOAT: ["True", "False"]}.get(t, [])
        out = [f"{pad}match {self.expr(t)}:"]
        for _ in range(r.randint(1, 3)):
            n = r.randint(1, 2)
            pats = [r.choice(never) if never and self.on("never_true", 0.1) else
                    r.choice(near) if near and self.on("match_types", 0.35) else r.choice(lits) for _ in range(n)]
            out += [f"{pad}    case {' | '.join(pats)}:"] + self.block(pad + "        ", ret, depth + 1)
        if r.random() < 0.6:
            out += [f"{pad}    case _:"] + self.block(pad + "        ", ret, depth + 1)
        return out

    def json(self, pad: str, ret: str, depth: int) -> list[str]:
        """A round trip through json_marshal and json_unmarshal[T], or the decoding of literal JSON."""
        r = self.r
        t = r.choice([INT, FLOAT, BOOL, STR, LI, LF, LS, DSI])
        res = self.fresh("r")
        inner = pad
        out: list[str] = []
        if r.random() < 0.3:
            data = r.choice(JSON_DATA[t])
            bound = 4 * len(data)
        else:
            src = self.fit(t, CAP[t]) if t in CAP else self.expr(t)
            bound = self.bound_of(src, t) if t in CAP else 0
            data = self.fresh("j")
            out += [f"{pad}{data}: bytes | DSError = json_marshal({src})",
                    f"{pad}if isinstance({data}, DSError):", f"{pad}    print({data}.message)",
                    f"{pad}else:", f"{pad}    print({data})"]
            inner = pad + "    "
        out += [f"{inner}{res}: {t} | DSError = json_unmarshal[{t}]({data})",
                f"{inner}if isinstance({res}, DSError):", f"{inner}    print({res}.kind, {res}.message)",
                f"{inner}else:"]
        ctx = self.ctx
        targets = [v for v in ctx.visible(t, writable=True) if not (ctx.loop and v.name in ctx.outer_names)]
        if targets and r.random() < 0.5:
            v = r.choice(targets)
            v.bound = max(v.bound, bound)
            out.append(f"{inner}    {v.name} = {res}")
        else:
            out.append(f"{inner}    print({res})")
        return out

    def union(self, pad: str, ret: str, depth: int) -> list[str]:
        """Bools among the ints of a union-typed container: Python keeps each one a bool, so it
        prints as True and max(x, 0) is x itself; narrowed to int (without bool) it is an int."""
        r, ctx = self.r, self.ctx
        if ctx.weight * 3 > LOOP_CAP:
            return self.if_stmt(pad, ret, depth)
        self.cost = max(self.cost, ctx.weight * 3)
        u, x = self.fresh("u"), self.fresh("x")
        none = r.random() < 0.4
        # int | str holding a bool is refused: its int member is read back as an int
        narrow = self.on("bool_slot", 0.3)
        ints = "int" if narrow else "int | bool"

        def member() -> str:
            w = r.randint(0, 2)
            return self.expr(BOOL) if w == 0 else self.item(INT) if w == 1 else "None" if none else self.item(STR)

        n = r.randint(1, 3)
        if none:
            k = self.fresh("k")
            items = ", ".join(f"{key}: {member()}" for key in r.sample(KEYS, n))
            out = [f"{pad}{u}: dict[str, {ints} | None] = {{{items}}}", f"{pad}for {k} in {u}:",
                   f"{pad}    {x}: {ints} | None = {u}[{k}]"]
            rest = f"{x} is not None"
        else:
            out = [f"{pad}{u}: list[{ints} | str] = [" + ", ".join(member() for _ in range(n)) + "]",
                   f"{pad}for {x} in {u}:"]
            rest = f"isinstance({x}, int)"
        if narrow or r.random() < 0.6:
            # the bools apart first, then what is left is an int
            if not narrow:
                uses = [use.format(x=x) for use in r.sample(BOOL_USES, r.randint(1, 2))]
                out += [f"{pad}    if isinstance({x}, bool):", f"{pad}        print({', '.join(uses)})"]
            # with the bools apart, an int is never a bool
            uses = [use.format(x=x) if "isinstance" not in use or self.on("never_true") else f"str({x})"
                    for use in r.sample(INT_USES, r.randint(1, 3))]
            out += [f"{pad}    {'if' if narrow else 'elif'} {rest}:", f"{pad}        print({', '.join(uses)})"]
        else:
            uses = [use.format(x=x) for use in r.sample(WIDE_USES, r.randint(1, 3))]
            out += [f"{pad}    if {rest}:", f"{pad}        print({', '.join(uses)})"]
        return out + [f"{pad}    else:", f"{pad}        print({x})"]

    def loop(self, pad: str, ret: str, depth: int, k: int) -> list[str]:
        r, ctx = self.r, self.ctx
        # the loop's header and its trip count, before its body exists
        if k <= 11:
            c = Var(self.fresh(), INT, True, 3)
            trips = r.randint(0, 6)
            head = [f"{pad}{c.name}: int = 0", f"{pad}while {c.name} < {trips}:", f"{pad}    {c.name} = {c.name} + 1"]
            loop_vars, kind = [c], "while"
        elif k <= 13:
            a, b = r.randint(-3, 4), r.randint(-3, 8)
            step = r.choice([1, 1, 2, -1, 3])
            w = r.randint(0, 3)
            rng, trips = [(f"range({b})", len(range(b))), (f"range({a}, {b})", len(range(a, b))),
                          (f"range({a}, {b}, {step})", len(range(a, b, step))),
                          (f"range({self.expr(INT, 2)} % 5)", 4)][w]
            i = Var(self.fresh(), INT, True, 8)
            head = [f"{pad}for {i.name} in {rng}:"]
            loop_vars, kind = [i], "range"
        else:
            kind = r.choice([LI, LS, LF, DSI, "enum"])
            src = self.expr(LS if kind == "enum" else kind, 2)
            trips = self.size(src)
            if kind == DSI:
                x = Var(self.fresh(), STR, True, ITEM[STR])
                head = [f"{pad}for {x.name} in {src}:"]
                loop_vars = [x]
            elif kind == "enum":
                i = Var(self.fresh(), INT, True, 8)
                x = Var(self.fresh(), STR, True, ITEM[STR])
                head = [f"{pad}for {i.name}, {x.name} in enumerate({src}):"]
                loop_vars = [i, x]
            else:
                x = Var(self.fresh(), ELEM[kind], True, ITEM[ELEM[kind]])
                head = [f"{pad}for {x.name} in {src}:"]
                loop_vars = [x]
        if ctx.weight * max(trips, 1) > LOOP_CAP:
            return self.if_stmt(pad, ret, depth)
        saved = ctx.outer_names, ctx.weight
        ctx.outer_names = {v.name for v in ctx.visible()}
        ctx.loop += 1
        ctx.weight *= max(trips, 1)
        self.cost = max(self.cost, ctx.weight)
        if kind in (LI, LS, LF, "enum"):
            ctx.in_for_list += 1
        elif kind == DSI:
            ctx.in_for_dict += 1
        try:
            if kind == "while":
                ctx.scopes[-1].append(loop_vars[0])     # declared before the loop, in this block
                for v in loop_vars:
                    v.root = False
                return head + self.block(pad + "    ", ret, depth + 1)
            ctx.scopes.append([])
            for v in loop_vars:
                v.root = False
                ctx.scopes[-1].append(v)
            body = self.block(pad + "    ", ret, depth + 1)
            ctx.scopes.pop()
            return head + body
        finally:
            if kind in (LI, LS, LF, "enum"):
                ctx.in_for_list -= 1
            elif kind == DSI:
                ctx.in_for_dict -= 1
            ctx.loop -= 1
            ctx.outer_names, ctx.weight = saved

    # -- functions and the module -----------------------------------------------------
    def function(self, name: str, params: list[tuple[str, str]], ret: str, taints: tuple[bool, ...]) -> list[str]:
        self.fn_name = name
        self.ctx = Ctx(scopes=[[Var(p, t, bound=PARAM.get(t, 0), taint=tainted)
                                for (p, t), tainted in zip(params, taints)]])
        self.items = self.chars = 0
        self.cost = 1
        self.mutates = False
        body = self.block("    ", ret, 0, n=self.r.randint(1, self.max_stmts))
        body.append(f"    return {self.result(ret)}")
        sig = ", ".join(f"{p}: {t}" for p, t in params)
        return ["", "", "@flow", f"async def {name}({sig}) -> {ret}:"] + body

    def signature(self, prefix: str, n: int, types: list[str]) -> tuple[list[tuple[str, str]], tuple[bool, ...]]:
        params = [(f"{prefix}{j}", t) for j, t in enumerate(types[:n])]
        # an int parameter may be given a bool, a float one an int (or a bool)
        taints = tuple(t in (INT, FLOAT) and self.on("bool_slot" if t == INT else "float_slot", 0.35)
                       for _, t in params)
        return params, taints

    def module(self) -> tuple[str, dict]:
        r = self.r
        lines = ["from deepslate import DSError, flow, json_marshal, json_unmarshal, pure", PURES]
        self.fns += [Fn(name, params, ret) for name, params, ret in PURE_SIGS]
        for h in range(r.randint(0, 2)):
            n = r.randint(0, 3)
            params, taints = self.signature("a", n, [r.choice(TYPES) for _ in range(n)])
            fn = Fn(f"h{h}", params, r.choice(TYPES), taints)
            lines += self.function(fn.name, params, fn.ret, taints)
            fn.cost, fn.items, fn.mutates = self.cost, self.items, self.mutates
            self.fns.append(fn)
        n = r.randint(0, 3)
        params, taints = self.signature("p", n, r.sample(TYPES, n))
        args = {p: self.arg(t, taint) for (p, t), taint in zip(params, taints)}
        lines += self.function("main", params, r.choice(TYPES), taints)
        return "\n".join(lines) + "\n", args

    def arg(self, t: str, taint: bool = False):
        # eval of a literal of the grammar: the same value CPython would see in the source
        text = self.literal(t, 0)
        if taint and self.chance(0.5):
            if t == INT or "bool_slot" not in self.exclude and self.chance(0.3):
                text = self.literal(BOOL, 0) if "bool_slot" not in self.exclude else text
            else:
                text = self.r.choice(INT_LITS[:-1])     # 10 ** 400 is no float
        return eval(text)  # noqa: S307 - literals this module made


# plain Python called from flows, with faults of their own (index, division, conversion)
_MEASURE = {ast.Constant: Gen._m_constant, ast.Name: Gen._m_name, ast.List: Gen._m_list, ast.Dict: Gen._m_list,
            ast.BinOp: Gen._m_binop, ast.UnaryOp: Gen._m_unaryop, ast.BoolOp: Gen._m_bool, ast.Compare: Gen._m_bool,
            ast.IfExp: Gen._m_ifexp, ast.Subscript: Gen._m_subscript, ast.JoinedStr: Gen._m_fstring,
            ast.Call: Gen._m_callnode}

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
    return int(s) if s.strip().lstrip("-").isdigit() else len(s)


@pure
def has(x: float, xs: list[float]) -> bool:
    return x in xs"""
PURE_SIGS = [("scale", [("a", INT), ("b", FLOAT)], FLOAT), ("pick", [("xs", LI), ("i", INT)], INT),
             ("shout", [("s", STR), ("n", INT)], STR), ("ratio", [("a", INT), ("b", INT)], FLOAT),
             ("digits", [("s", STR)], INT), ("has", [("x", FLOAT), ("xs", LF)], BOOL)]
FLOW_NAMES = {"main", "h0", "h1"}


def forget_compiled_modules() -> None:
    """Drop what the compiler keeps per process for the throwaway modules of
    ``driver.compile_source``: a run that compiles thousands of them would otherwise hold
    every one (env.LIVE maps refs to their callables, and so to their modules)."""
    from deepslate.program.link import LIVE

    for ref in [r for r in LIVE if r.startswith("_compiled_source_")]:
        del LIVE[ref]


def generate(seed: int, max_stmts: int = 7, exclude: frozenset[str] | set[str] = REFUSED) -> tuple[str, dict]:
    """A module's source and main's arguments, a pure function of ``seed`` (and ``exclude``)."""
    return Gen(seed, max_stmts, exclude).module()
