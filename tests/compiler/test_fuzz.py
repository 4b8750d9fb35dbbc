"""Fuzzing the compiler: generated flow-like modules, well-typed generated programs (and their
mutants), mutated corpus files and random bytes (reliability target 15).

Whatever the source, compiling it gives a program or a ``CompileError`` carrying a line and a
column inside the text: never another exception and never a hang (each example has a deadline).
Every program that compiles passes the bytecode verifier (``codegen.verify_program``) and the
VM's own load-time checks.

Sizes: ``DEEPSLATE_COMPILER_FUZZ`` is the number of examples over all generators (default
2 000, nightly 100 000), split by the shares in ``SHARES``; ``DEEPSLATE_FUZZ_EXAMPLES=N``, when
set, gives every property N examples instead. ``DEEPSLATE_COMPILER_FUZZ_SEED`` (default
20261130) seeds hypothesis; a failure names it.
"""
from __future__ import annotations

import functools
import io
import keyword
import os
import pathlib
import sys
import tokenize

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from deepslate.compiler.errors import CompileError

import driver
import gen_pure

PER_PROPERTY = int(os.environ.get("DEEPSLATE_FUZZ_EXAMPLES", "0"))
TOTAL = int(os.environ.get("DEEPSLATE_COMPILER_FUZZ", "2000"))
SEED = int(os.environ.get("DEEPSLATE_COMPILER_FUZZ_SEED", "20261130"))
# the grammar modules are the slowest to compile and reach the checker's corners; typed programs
# are what the verifier mostly sees
SHARES = {"generated": 0.25, "typed": 0.1, "mutated": 0.35, "bytes": 0.15, "flowish": 0.15}
STATS: dict[str, int] = {}
CURRENT = [""]   # the generator whose examples run now


def fuzz(share: str):
    n = PER_PROPERTY or max(1, round(TOTAL * SHARES[share]))
    conf = settings(max_examples=n, deadline=2000, database=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])

    def wrap(test):
        run = seed(SEED)(conf(test))

        @functools.wraps(test)
        def named(*a, **k):
            CURRENT[0] = share
            try:
                return run(*a, **k)
            except Exception as e:   # the seed makes the whole run repeatable (a skip is no Exception)
                raise AssertionError(f"DEEPSLATE_COMPILER_FUZZ_SEED={SEED}: {type(e).__name__}: {e}") from e
        return named
    return wrap


CORPUS_TEXTS = {p.name: p.read_text() for p in driver.corpus_files()}


SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "deepslate"


def compile_text(source: str, filename: str):
    return driver.compile_source(source, filename)


# The Python-level doors reject misuse on purpose (module code calling a flow or sleep(), @flow on a
# class, @impure(retries=-1)); anything else escaping from inside deepslate is a compiler bug.
API_DOORS = {("flow.py", name) for name in ("__call__", "flow", "pure", "impure", "mark")} | {
    ("_builtins.py", name) for name in ("sleep", "http_listen", "http_request", "json_marshal", "call",
                                        "__call__", "_outside")} | {("dpslio.py", "create_task")}


def _raised_in_deepslate(e: BaseException) -> bool:
    tb = e.__traceback__
    inside = False
    last = None
    while tb is not None:
        if pathlib.Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(SRC):
            inside = True
        last = tb
        tb = tb.tb_next
    if inside and last is not None and isinstance(e, (TypeError, ValueError, RuntimeError)):
        code = last.tb_frame.f_code
        if (pathlib.Path(code.co_filename).name, code.co_name) in API_DOORS:
            return False
    return inside


def check_outcome(source: str, filename: str = "fuzz_input.py") -> str:
    """Compile ``source``: 'ok', 'error' (a CompileError with a good position), or 'python' when
    the text fails as plain Python before any flow is compiled (a syntax error of the module, a
    NameError in its top-level code); any exception raised inside deepslate that is not a
    CompileError fails the test."""
    STATS[CURRENT[0]] = STATS.get(CURRENT[0], 0) + 1
    try:
        try:
            flows = compile_text(source, filename)
        finally:
            gen_pure.forget_compiled_modules()
    except CompileError as e:
        lines = [ln.rstrip("\r\n") for ln in io.StringIO(source, newline=None).readlines()] or [""]
        assert isinstance(e.lineno, int) and isinstance(e.offset, int), (e.lineno, e.offset, str(e))
        assert 1 <= e.lineno <= len(lines) + 1, (e.lineno, len(lines), str(e))
        assert e.offset >= 1, str(e)
        assert e.filename == filename
        text = str(e)
        assert text.startswith(f"{filename}:{e.lineno}:{e.offset}: "), text
        for other in getattr(e, "errors", [e]):
            assert isinstance(other, CompileError) and other.lineno >= 1 and other.offset >= 1
            if other.text is not None and other.lineno <= len(lines):
                # the quoted line is the one the position names, and the column lies on it
                want = lines[other.lineno - 1]
                assert other.text.rstrip("\r\n") == want, (str(other), want)
                assert other.offset <= len(want) + 1, (str(other), want)
        STATS["error"] = STATS.get("error", 0) + 1
        return "error"
    except SyntaxError as e:
        if type(e) is not SyntaxError and type(e) is not IndentationError and type(e) is not TabError:
            raise
        return "python"
    except Exception as e:
        if _raised_in_deepslate(e):
            raise
        return "python"
    check_programs(flows)
    STATS["ok"] = STATS.get("ok", 0) + 1
    return "ok"


def check_programs(flows: dict) -> None:
    """Every compiled program passes the bytecode verifier and the VM's load-time checks."""
    from deepslate._vm import VM
    from deepslate.compiler.codegen import verify_program

    for name, f in flows.items():
        program = f.program
        problem = verify_program(program)
        assert problem is None, f"flow {name}: {problem}"
        VM(program, program.entry, (None,) * len(program.codes[program.entry].params))
        STATS["verified"] = STATS.get("verified", 0) + 1


# -- a grammar of flow-like code -------------------------------------------------------------

TYPES = ["int", "bool", "float", "str", "bytes", "list[int]", "list[str]", "dict[str, int]",
         "int | DSError", "bytes | DSError", "Point", "dpslio.Queue[int]", "dpslio.Lock", "None",
         "list[list[float]]", "dict[int, Point]", "tuple", "set[int]", "Any", "T"]
NAMES = ["a", "b", "n", "xs", "d", "s", "p", "q", "r", "i", "x", "count", "undefined_name"]
LITERALS = ["0", "1", "-1", "2 ** 100", "3.5", "-0.0", "1e308", "True", "False", "None", "'s'",
            "\"t\"", "b'x'", "[]", "[1, 2]", "{}", "{'k': 1}", "Point(1, 2)", "DSError('e')",
            "f'{a:>4}'", "f'{x!r}'", "f'{x:{n}}'", "(1, 2)", "{1, 2}", "(lambda: 1)", "...", "[i for i in xs]",
            "await q.get()", "x if a else b", "a < b < n", "xs[1:2]"]
BINOPS = ["+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "and", "or",
          "in", "not in", "is", "&", "|", "<<", "@"]
CALLS = ["len", "str", "int", "float", "abs", "min", "max", "range", "print", "sleep", "add",
         "helper", "effect", "json_marshal", "json_unmarshal[list[int]]", "isinstance", "open",
         "dpslio.create_task", "enumerate", "sorted"]


@st.composite
def expressions(draw, depth: int = 0) -> str:
    choice = draw(st.integers(0, 9 if depth < 3 else 2))
    if choice == 0:
        return draw(st.sampled_from(LITERALS))
    if choice in (1, 2):
        return draw(st.sampled_from(NAMES))
    if choice in (3, 4):
        op = draw(st.sampled_from(BINOPS))
        return f"{draw(expressions(depth + 1))} {op} {draw(expressions(depth + 1))}"
    if choice == 5:
        return f"{draw(st.sampled_from(['-', 'not ', '+', '~']))}{draw(expressions(depth + 1))}"
    if choice == 6:
        fn = draw(st.sampled_from(CALLS))
        args = draw(st.lists(expressions(depth + 1), max_size=3))
        return f"{fn}({', '.join(args)})"
    if choice == 7:
        return f"{draw(expressions(depth + 1))}[{draw(expressions(depth + 1))}]"
    if choice == 8:
        return f"{draw(st.sampled_from(NAMES))}.{draw(st.sampled_from(['x', 'y', 'append', 'get', 'put']))}"
    return f"({draw(expressions(depth + 1))})"


@st.composite
def statements(draw, indent: int, depth: int = 0, in_loop: bool = False) -> list[str]:
    pad = "    " * indent
    kind = draw(st.integers(0, 13 if depth < 2 else 6))
    name = draw(st.sampled_from(NAMES))
    expr = draw(expressions())
    if kind in (0, 1):
        return [f"{pad}{name}: {draw(st.sampled_from(TYPES))} = {expr}"]
    if kind == 2:
        return [f"{pad}{name}: {draw(st.sampled_from(TYPES))}"]
    if kind == 3:
        return [f"{pad}{name} = {expr}"]
    if kind == 4:
        return [f"{pad}return {expr}" if draw(st.booleans()) else f"{pad}return"]
    if kind == 5:
        # break/continue outside a loop would be Python's own SyntaxError: wasted examples
        simple = ['break', 'continue'] if in_loop else []
        return [f"{pad}{draw(st.sampled_from(simple + ['pass', 'x += 1', 'del x']))}"]
    if kind == 6:
        return [f"{pad}{expr}"]
    is_loop = kind in (8, 9)
    body = draw(blocks(indent + 1, depth + 1, in_loop or is_loop))
    if kind == 7:
        out = [f"{pad}if {expr}:"] + body
        if draw(st.booleans()):
            out += [f"{pad}elif {draw(expressions())}:", f"{pad}    {draw(st.sampled_from(NAMES))} = {draw(expressions())}"]
        if draw(st.booleans()):
            out += [f"{pad}else:"] + draw(blocks(indent + 1, depth + 2, in_loop))
        return out
    if kind == 8:
        return [f"{pad}while {expr}:"] + body
    if kind == 9:
        target = draw(st.sampled_from(["i", "x", "i, x", "(i, x)", "xs[0]"]))
        it = draw(st.sampled_from(["range(3)", "range(10, 0, -2)", "xs", "enumerate(xs)", "d", "s", expr]))
        return [f"{pad}for {target} in {it}:"] + body
    if kind == 10:
        pats = draw(st.lists(st.sampled_from(["1", "'a'", "True", "-2", "[1, 2]", "1 | 2", "None", "2.5"]),
                             min_size=1, max_size=3))
        # an irrefutable pattern must come last, or Python itself rejects the match
        pats += draw(st.sampled_from([[], ["_"], ["x"]]))
        out = [f"{pad}match {expr}:"]
        for n, pat in enumerate(pats):
            arm = ["    " + line for line in body] if n == 0 else [f"{pad}        pass"]
            out += [f"{pad}    case {pat}:"] + arm
        return out
    if kind == 11:
        return [f"{pad}try:"] + body + [f"{pad}except Exception:", f"{pad}    pass"]
    if kind == 12:
        return [f"{pad}match dpslio.select:", f"{pad}    case _ if v := await q.get():"] + \
            ["    " + line for line in body]
    return [f"{pad}with open('f') as fh:"] + body


@st.composite
def blocks(draw, indent: int, depth: int = 0, in_loop: bool = False) -> list[str]:
    out: list[str] = []
    for stmts in draw(st.lists(statements(indent, depth, in_loop), min_size=1, max_size=4)):
        out += stmts
    return out


HEADER = ("from dataclasses import dataclass\n\n"
          "from deepslate import DSError, dpslio, flow, impure, json_marshal, json_unmarshal, pure, sleep\n\n\n"
          "@dataclass\nclass Point:\n    x: int\n    y: int\n\n\n"
          "@pure\ndef helper(a: int) -> int:\n    return a\n\n\n"
          "@impure\ndef effect(a: str) -> str | DSError:\n    return a\n\n\n"
          "@flow\nasync def add(a: int, b: int) -> int:\n    return a + b\n")


@st.composite
def modules(draw) -> str:
    parts = [HEADER]
    for k in range(draw(st.integers(1, 2))):
        params = draw(st.lists(st.sampled_from(["a: int", "b: str", "xs: list[int]", "d: dict[str, int]",
                                                "q: dpslio.Queue[int]", "p: Point", "x", "n: float"]),
                               max_size=3, unique=True))
        ret = draw(st.sampled_from(["", " -> int", " -> str | DSError", " -> None", " -> list[int]", " -> Point"]))
        deco = draw(st.sampled_from(["@flow"] * 8 + ["@pure"]))
        asyn = draw(st.sampled_from(["async def"] * 8 + ["def"]))
        parts.append(f"\n\n{deco}\n{asyn} gen{k}({', '.join(params)}){ret}:\n" + "\n".join(draw(blocks(1))) + "\n")
    return "".join(parts)


# -- mutations of the corpus ----------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.string.strip()]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text.split()


def _typed_tokens(text: str) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    try:
        for t in tokenize.generate_tokens(io.StringIO(text).readline):
            if t.string.strip() and t.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER, tokenize.STRING):
                out.setdefault(t.type, set()).add(t.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


# same-kind replacements (a name for a name, an operator for an operator) keep most mutants valid
# Python, so the flow compiler, not Python's parser, has to judge them
SAME_KIND: dict[int, list[str]] = {}
for _text in CORPUS_TEXTS.values():
    for _kind, _toks in _typed_tokens(_text).items():
        SAME_KIND.setdefault(_kind, [])
        SAME_KIND[_kind] = sorted(set(SAME_KIND[_kind]) | _toks)
SAME_KIND[tokenize.NUMBER] += ["0", "-1", "2 ** 64", "1e400", "0.0"]
SAME_KIND[tokenize.OP] = ["+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "@", "|", "&"]

TOKEN_POOL = sorted({t for text in CORPUS_TEXTS.values() for t in _tokens(text)} | set(keyword.kwlist)
                    | {"(", ")", "[", "]", ":", "=", ",", "\t", "\\", "'", '"', "#", "@", "\x00", "é", "🦀"})


@st.composite
def mutated(draw) -> str:
    return mutate(draw, CORPUS_TEXTS[draw(st.sampled_from(sorted(CORPUS_TEXTS)))])


def mutate(draw, text: str) -> str:
    for _ in range(draw(st.integers(1, 3))):
        lines = text.splitlines(keepends=True) or ["\n"]
        # most edits go to lines inside flow bodies, where Python still parses the result and the
        # flow compiler has to judge it
        body = [n for n, line in enumerate(lines) if line.startswith("    ") and line.strip()] or [0]
        i = draw(st.sampled_from(body)) if draw(st.integers(0, 4)) else draw(st.integers(0, len(lines) - 1))
        j = draw(st.sampled_from(body))
        op = draw(st.sampled_from([0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9]))
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[j])
        elif op == 2:
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 3:
            lines[i] = lines[i].replace("    ", "  ", 1) if draw(st.booleans()) else "    " + lines[i]
        elif op in (4, 5, 6):
            indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
            toks = _tokens(lines[i]) or [""]
            k = draw(st.integers(0, len(toks) - 1))
            if op == 4:
                del toks[k]
            elif op == 5:
                toks.insert(k, draw(st.sampled_from(TOKEN_POOL)))
            else:
                toks[k] = draw(st.sampled_from(TOKEN_POOL))
            lines[i] = indent + " ".join(toks) + "\n"
        elif op == 7:
            pos = draw(st.integers(0, len(lines[i])))
            junk = draw(st.text(max_size=4))
            lines[i] = lines[i][:pos] + junk + lines[i][pos:]
        elif op == 8:
            cut = draw(st.integers(0, sum(map(len, lines))))
            lines = ["".join(lines)[:cut]]
        else:
            try:
                toks = list(tokenize.generate_tokens(io.StringIO(lines[i].lstrip()).readline))
            except (tokenize.TokenError, IndentationError, SyntaxError):
                toks = []
            toks = [t for t in toks if t.type in SAME_KIND
                    and (t.type != tokenize.OP or t.string in SAME_KIND[tokenize.OP])]
            if toks:
                t = draw(st.sampled_from(toks))
                start = len(lines[i]) - len(lines[i].lstrip()) + t.start[1]
                new = draw(st.sampled_from(SAME_KIND[t.type]))
                lines[i] = lines[i][:start] + new + lines[i][start + len(t.string):]
        text = "".join(lines)
    return text


# -- the properties -----------------------------------------------------------------------------


@fuzz("generated")
@given(source=modules())
def test_generated_modules(source: str) -> None:
    check_outcome(source)


@fuzz("typed")
@given(n=st.integers(0, 2**32), data=st.data())
def test_typed_programs_and_their_mutants(n: int, data) -> None:
    # well-typed programs must compile (and verify); a mutant of one may go either way
    source, _ = gen_pure.generate(n, max_stmts=5)
    assert check_outcome(source) == "ok", f"gen_pure seed {n} does not compile:\n{source}"
    check_outcome(mutate(data.draw, source))


@fuzz("mutated")
@given(source=mutated())
def test_mutated_corpus(source: str) -> None:
    check_outcome(source)


@fuzz("bytes")
@given(data=st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    check_outcome(data.decode("utf-8", "replace"))


@fuzz("flowish")
@given(pieces=st.lists(st.sampled_from(list("async def flow():\n\t x=1+[]{}#'\"@:|") + ["await ", "@flow\n"]),
                       max_size=120))
def test_random_flowish_text(pieces: list[str]) -> None:
    check_outcome("".join(pieces))


def test_the_corpus_itself_compiles() -> None:
    for name, text in CORPUS_TEXTS.items():
        assert check_outcome(text, name) == "ok", name


def test_generated_modules_reach_both_outcomes() -> None:
    # a generator that only ever makes rejected (or only accepted) code would test little
    outcomes = set()
    valid = HEADER + "\n\n@flow\nasync def gen0(a: int) -> int:\n    b: int = add(a, 1)\n    return b\n"
    outcomes.add(check_outcome(valid))
    outcomes.add(check_outcome(valid.replace("b: int = add(a, 1)", "b: str = add(a, 1)")))
    assert outcomes == {"ok", "error"}


def test_check_outcome_rejects_a_bad_position(monkeypatch: pytest.MonkeyPatch) -> None:
    test_fuzz = sys.modules[__name__]

    def bad(source: str, filename: str):
        raise CompileError("boom", filename, 99, 1, None)
    monkeypatch.setattr(test_fuzz, "compile_text", bad)
    with pytest.raises(AssertionError):
        check_outcome("x = 1\n")

    def crash(source: str, filename: str):
        from deepslate.program import dis

        dis.dis(42)   # any exception escaping from inside deepslate
    monkeypatch.setattr(test_fuzz, "compile_text", crash)
    with pytest.raises(TypeError):
        check_outcome("x = 1\n")

    def user_error(source: str, filename: str):
        raise NameError("the module's own top-level code failed")
    monkeypatch.setattr(test_fuzz, "compile_text", user_error)
    assert check_outcome("x = 1\n") == "python"
    assert pathlib.Path(__file__).name == "test_fuzz.py"


def test_verifier_sees_what_the_vm_would_reject() -> None:
    import dataclasses

    from deepslate._opcodes import Op
    from deepslate.compiler.codegen import verify, verify_program

    src = HEADER + ("\n\n@flow\nasync def gen0(a: int, xs: list[int]) -> int:\n"
                    "    b: int = add(a, len(xs))\n    if b > 2:\n        return b // a\n    return helper(b)\n")
    program = compile_text(src, "v.py")["gen0"].program
    assert verify_program(program) is None
    code = program.codes[program.entry]
    n = len(code.insns) // 4
    at = {Op(code.insns[4 * pc]): pc for pc in range(n)}

    def broken(**changes):
        return dataclasses.replace(code, **changes)

    def patched(pc, word, value):
        insns = code.insns[:]
        insns[4 * pc + word] = value
        return broken(insns=insns)

    assert "unknown opcode 250" in verify(patched(0, 0, 250))
    assert "control runs off the end" in verify(broken(insns=code.insns[:-4], positions=code.positions[:-2]))
    assert "line table has" in verify(broken(positions=code.positions[:-2]))
    pos = code.positions[:]
    pos[0] = code.firstlineno + 500
    assert "outside the flow's lines" in verify(broken(positions=pos))
    call = at[Op.CALL]
    assert "constant" in verify(patched(call, 2, len(code.consts)))
    other = next(k for k, c in enumerate(code.consts) if type(c).__name__ != "CallTarget")
    assert f"constant {other} is a" in verify(patched(call, 2, other))
    wide = list(code.consts)
    wide[code.insns[4 * call + 2]] = dataclasses.replace(wide[code.insns[4 * call + 2]], nargs=2)
    assert "arguments O" in verify(dataclasses.replace(patched(call, 3, code.n_o - 1), consts=tuple(wide)))
    flowcall = at[Op.CALLFLOW]
    bad_target = dataclasses.replace(program, codes=[patched(flowcall, 3, code.n_o - 1)] + program.codes[1:])
    assert "arguments O" in verify_program(bad_target)
    consts = list(code.consts)
    consts[code.insns[4 * flowcall + 2]] = 99
    assert "names code 99" in verify_program(dataclasses.replace(program, codes=[broken(consts=tuple(consts))]
                                                                  + program.codes[1:]))
    local = code.locals[0]
    bad_local = dataclasses.replace(local, reg=10**6)
    assert "outside the code's registers" in verify(broken(locals=(bad_local,) + code.locals[1:]))


def test_zz_fuzz_summary() -> None:
    # runs after the properties when the whole file runs: what the generators reached
    print(f"\ncompiler fuzz (DEEPSLATE_COMPILER_FUZZ_SEED={SEED}): {dict(sorted(STATS.items()))}")
    if all(k in STATS for k in SHARES):
        assert STATS.get("verified", 0) >= TOTAL // 10, STATS
        assert STATS.get("error", 0) >= TOTAL // 10, STATS
