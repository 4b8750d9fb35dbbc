"""Snapshot anywhere: interrupting a flow at any durable point, saving the interpreter's state and
resuming it in a fresh VM gives exactly the result of an uninterrupted run.

Two round trips are checked: the state tuple alone (``export_state`` -> ``VM.from_state``) and the
full codec (``encode_snapshot`` -> bytes -> ``decode_snapshot`` -> ``VM.from_state``). Both phases
of a durable point are covered: while the effect is pending (the restored VM must report the same
``pending()`` effect) and just after its result was delivered.
"""
from __future__ import annotations

import copy
import os
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepslate._vm import VM, decode_snapshot, encode_snapshot, inspect_snapshot

import driver
import test_corpus  # the random program generator

# corpus cases with many durable points of different kinds (and no fault)
NAMES = [
    "sleep_loop:main", "sleep_loop:counter", "sleep_loop:backoff", "durable_mix:main",
    "impure_calls:main", "impure_calls:retry", "queues:main", "queues:pipeline", "queues:bounded",
    "waitgroup:main", "locks:main", "select_race:main", "children:main", "http_effects:relay",
    "readme_counter:bounded",
]
CASES = [c for c in driver.all_cases() if f"{c.path.stem}:{c.flow}" in NAMES and c.expect is not None]


def _restorer(program, via_bytes: bool, tamper: Callable | None = None) -> Callable:
    if via_bytes:
        def roundtrip(state):
            data = encode_snapshot(program.hash, state)
            # the display decoder (inspector, dis) must read every snapshot too
            shown = inspect_snapshot(data)
            assert shown["program_hash"] in (program.hash, program.hash.hex())
            assert len(shown["frames"]) == len(state[0])
            assert [f["pc"] for f in shown["frames"]] == [f[1] for f in state[0]]
            return decode_snapshot(data, program)
    else:
        def roundtrip(state):
            return state

    def restore(iso: driver.Isolate, log: list[str]) -> None:
        log.extend(iso.vm.take_log())   # the log travels with a commit, not in the state
        state = iso.vm.export_state()
        before = repr(iso.vm.frames_view())
        if tamper is not None:
            state = tamper(state)
        iso.vm = VM.from_state(program, roundtrip(copy.deepcopy(state) if not via_bytes else state))
        if tamper is None:
            # same functions, lines and locals after the restore
            assert repr(iso.vm.frames_view()) == before
    return restore


def _run(case: driver.Case, points: set[int] | None, via_bytes: bool, phases=("pending", "ready"),
         budget: int = 997, tamper: Callable | None = None):
    """Run ``case``; restore at the durable-point phases numbered in ``points`` (None: all)."""
    mod = driver.load_module(case.path)
    flow = getattr(mod, case.flow)
    program = driver.flow_program(flow)
    restore = _restorer(program, via_bytes, tamper)
    seen = [0]
    restored_log: list[str] = []

    def hook(iso: driver.Isolate, phase: str) -> None:
        if phase not in phases:
            return
        seen[0] += 1
        if points is None or seen[0] in points:
            restore(iso, restored_log)

    value, drv, _root = driver.drive(flow, copy.deepcopy(case.args), driver.eval_effects(case),
                                     on_durable=hook, budget=budget)
    return value, restored_log + drv.log, seen[0]


def _baseline(case: driver.Case):
    value, log, phases = _run(case, set(), via_bytes=False)
    assert repr(value) == case.expect
    return value, log, phases


def test_cases_were_found() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize("via_bytes", [False, True], ids=["state", "codec"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_restore_at_every_durable_point(case: driver.Case, via_bytes: bool) -> None:
    value, log, phases = _baseline(case)
    assert phases >= 2, "pick flows with durable points"
    got, got_log, _ = _run(case, None, via_bytes)
    assert repr(got) == repr(value)
    assert got_log == log


@pytest.mark.parametrize("case", [c for c in CASES if c.path.stem in ("durable_mix", "queues", "locks")],
                         ids=lambda c: c.id)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_restore_at_chosen_points(case: driver.Case, data) -> None:
    value, log, phases = _baseline(case)
    points = data.draw(st.sets(st.integers(1, phases), max_size=phases), label="restore at")
    got, got_log, _ = _run(case, points, via_bytes=True)
    assert repr(got) == repr(value)
    assert got_log == log


def test_aliasing_survives_a_snapshot() -> None:
    # durable_mix keeps `alias` and `acc.history` naming one list across every durable point and
    # appends through one name after the loop; the expectation counts the shared element
    (case,) = [c for c in CASES if c.path.stem == "durable_mix"]
    got, _, _ = _run(case, None, via_bytes=True)
    assert "'13'" in repr(got)


# pure flows have no durable point, but the VM may also be saved whenever its instruction budget
# runs out: that puts snapshots in the middle of loops, calls and unboxed arithmetic
PURE = [c for c in driver.all_cases() if c.cpython and c.expect is not None
        and c.path.stem in ("algorithms", "bigint", "float_edges", "flow_calls", "dataclasses_more", "dicts",
                            "mixed_numeric", "strings", "fstrings", "int_divmod_table", "nested_control",
                            "json_ok", "dserror_narrowing", "pure_calls")]


@pytest.mark.parametrize("case", PURE, ids=[c.id for c in PURE])
def test_restore_at_every_budget_yield(case: driver.Case) -> None:
    value, log, _ = _baseline(case)
    got, got_log, yields = _run(case, None, via_bytes=True, phases=("yield",), budget=13)
    assert repr(got) == repr(value)
    assert got_log == log


def test_a_lossy_restore_is_caught() -> None:
    # the harness must notice a restore that loses state: zero the int registers once
    (case,) = [c for c in CASES if c.path.stem == "sleep_loop" and c.flow == "counter"]
    value, _, _ = _baseline(case)

    def forget_ints(state):
        frames, *rest = state
        frames = [(ci, pc, O, [0] * len(I), F) for ci, pc, O, I, F in frames]
        return (frames, *rest)
    got, _, _ = _run(case, {9}, via_bytes=True, tamper=forget_ints)
    assert repr(got) != repr(value)


@settings(max_examples=int(os.environ.get("DEEPSLATE_FUZZ_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_programs_survive_snapshots(data) -> None:
    # random well-typed programs (see test_corpus), saved and restored through the codec at
    # randomly chosen budget yields, end exactly as an uninterrupted run does
    body = data.draw(st.builds(list).flatmap(lambda names: test_corpus.program_stmts(1, 0, 0, names)), label="body")
    source = test_corpus.PROGRAM_HEAD + "\n".join(body) + "\n    return summary(i0, i1, acc, f0, s0, l0, d0, b0)\n"
    test_corpus._ARITH_RUNS[0] += 1
    flows = driver.compile_source(source, f"snap_program_{test_corpus._ARITH_RUNS[0]}.py")
    flow = flows["main"]
    program = driver.flow_program(flow)
    budget = data.draw(st.integers(1, 40), label="budget")
    want, drv, _ = driver.drive(flow, {"a": 7, "b": -3}, budget=budget)
    chosen = data.draw(st.sets(st.integers(1, 400), max_size=30), label="restore at")
    restore = _restorer(program, via_bytes=True)
    seen = [0]
    log: list[str] = []

    def hook(iso: driver.Isolate, phase: str) -> None:
        seen[0] += 1
        if seen[0] in chosen:
            restore(iso, log)
    got, drv2, _ = driver.drive(flow, {"a": 7, "b": -3}, budget=budget, on_durable=hook)
    assert repr(got) == repr(want), source
    assert log + drv2.log == drv.log


CONCURRENT = {
    # corpus flow -> (argument strategy, the result a correct run must give)
    "locks:main": (st.fixed_dictionaries({"workers": st.integers(1, 4), "times": st.integers(0, 4)}),
                   lambda a: a["workers"] * a["times"]),
    "queues:main": (st.fixed_dictionaries({"n": st.integers(0, 12)}),
                    lambda a: sum(i * i for i in range(a["n"]))),
    "waitgroup:main": (st.fixed_dictionaries({"n": st.integers(0, 6)}),
                       lambda a: sum(i * i for i in range(1, a["n"] + 1))),
}


@pytest.mark.parametrize("name", sorted(CONCURRENT))
@settings(max_examples=int(os.environ.get("DEEPSLATE_FUZZ_EXAMPLES", "15")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_concurrent_flows_under_snapshots(name: str, data) -> None:
    # children interleave differently with each budget; restores at random points of any isolate
    args_strategy, expected = CONCURRENT[name]
    args = data.draw(args_strategy, label="args")
    stem, flow_name = name.split(":")
    flow = getattr(driver.load_module(driver.CORPUS / f"{stem}.py"), flow_name)
    restore = _restorer(driver.flow_program(flow), via_bytes=True)
    chosen = data.draw(st.sets(st.integers(1, 300), max_size=40), label="restore at")
    seen = [0]
    log: list[str] = []

    def hook(iso: driver.Isolate, phase: str) -> None:
        seen[0] += 1
        if seen[0] in chosen:
            restore(iso, log)
    got = driver.run_flow(flow, args, budget=data.draw(st.integers(1, 60), label="budget"), on_durable=hook)
    assert got == expected(args)
