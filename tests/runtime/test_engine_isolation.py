"""One isolate can never hurt another (DESIGN §2.8), on real flows and a real store (SQLite and
PostgreSQL: ``any_store``).

Each test pins one class of defect: a value the store cannot hold, a user exception of any
type, a hand-off decided before its giver's step was durable, a lock with two holders, a
retry that cannot run or runs twice, a value shared where it must be copied, @impure calls
that starve each other, a step that holds the loop. In every one a bystander isolate must
finish with its own result and the engine must not stop."""
from __future__ import annotations

import asyncio
import gc
import json
import logging
import sys

import pytest

from deepslate import Engine, FlowCancelled, FlowFailed
from deepslate.store import SQLiteStore

sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/flowmods")
import isoflows as F  # noqa: E402

pytestmark = pytest.mark.timeout(60)
FLOWS = [v for v in vars(F).values() if hasattr(v, "program") and hasattr(v, "name")]
STEADY = sum(range(20))


@pytest.fixture
async def start_engine(any_store):
    """start(**kw) -> an engine on the test's store; any still running is stopped at teardown."""
    started: list[Engine] = []

    async def start(**kw):
        eng = await Engine(any_store.open(), FLOWS, 4, **kw).start()
        started.append(eng)
        return eng
    yield start
    F.HANG.set()
    for eng in started:
        if eng.started:
            await stopped(eng)


@pytest.fixture(autouse=True)
def clean_state():
    F.LOG.clear()
    F.CALLS.clear()
    F.HANG.clear()
    F.MEET.reset()
    F.BROKEN["on"] = True
    F.SHARED_LIST[:] = [1, 2, 3]
    yield
    F.HANG.set()


async def stopped(eng: Engine) -> None:
    await eng.stop()
    eng.store.close()


async def with_bystander(eng: Engine, name: str, flow: str, args: dict) -> None:
    """Spawn ``name`` beside a bystander; the bystander must finish with its own result."""
    await eng.spawn("bystander", "steady", {"n": 20})
    await eng.spawn(name, flow, args)


async def exists(eng: Engine, name: str, timeout: float = 10.0) -> None:
    """Wait until ``name`` (a child) has its row."""
    deadline = asyncio.get_running_loop().time() + timeout
    while eng.store.get_isolate(name) is None:
        assert asyncio.get_running_loop().time() < deadline, f"{name} was never created"
        await asyncio.sleep(0.01)


async def bystander_ok(eng: Engine) -> None:
    assert await eng.wait("bystander", timeout=20) == STEADY
    assert eng.failure is None


# -- 1. a value the store cannot hold fails that isolate alone, and again after a restart --


async def test_printing_a_lone_surrogate_neither_stops_the_engine_nor_fails_the_flow(start_engine):
    eng = await start_engine()
    try:
        await with_bystander(eng, "p", "prints_surrogate", {})
        assert await eng.wait("p", timeout=10) == "printed"
        await bystander_ok(eng)
        assert eng.store.read_log(eng.store.get_isolate("p").id) == ["got caf\udcff"]
    finally:
        await stopped(eng)


async def test_any_str_survives_snapshots_results_logs_and_program_storage(start_engine):
    want = ["\ud800 and \U0001f600", "caf\udcff"]
    eng = await start_engine()
    try:
        await with_bystander(eng, "s", "keeps_surrogates", {})
        assert await eng.wait("s", timeout=10) == want
        await bystander_ok(eng)
    finally:
        await stopped(eng)
    eng = await start_engine()          # read back from the store, not from memory
    try:
        assert await eng.wait("s", timeout=10) == want
        assert eng.store.read_log(eng.store.get_isolate("s").id) == [" ".join(want)]
    finally:
        await stopped(eng)


@pytest.mark.parametrize("flow, message", [
    ("huge_wg_add", r"WaitGroup\(1\) counter out of range: 0 \+ 9223372036854775808"),
    ("huge_capacity", r"queue capacity 9223372036854775808 is out of range"),
])
async def test_an_integer_the_store_cannot_hold_fails_only_its_isolate(start_engine, flow, message):
    eng = await start_engine()
    try:
        await with_bystander(eng, "p", flow, {})
        with pytest.raises(FlowFailed, match=message) as e:
            await eng.wait("p", timeout=10)
        assert e.value.where.endswith("isoflows.py:" + str(e.value.frames[-1][2]))
        await bystander_ok(eng)
    finally:
        await stopped(eng)


async def test_a_snapshot_over_the_cap_fails_its_isolate_keeps_the_last_good_one_and_retries(start_engine):
    eng = await start_engine(max_snapshot_bytes=200_000)
    try:
        await with_bystander(eng, "p", "grows", {"n": 100_000})
        with pytest.raises(FlowFailed, match=r"snapshot is \d+ bytes, over the limit of 200000 "
                                             r"\(max_snapshot_bytes\)"):
            await eng.wait("p", timeout=10)
        await bystander_ok(eng)
        assert eng.store.get_isolate("p").snapshot is not None        # the last good one, for retry
    finally:
        await stopped(eng)
    eng = await start_engine()                                             # the default cap: 64 MiB
    try:
        assert await eng.retry("p") is True
        assert await eng.wait("p", timeout=10) == 100_000
    finally:
        await stopped(eng)


async def test_an_endless_append_loop_fails_at_the_cap_with_few_encodes(start_engine):
    encodes = []

    class CountingVM:
        def __getattr__(self, name):
            from deepslate import _vm
            return getattr(_vm, name)

        @staticmethod
        def encode_snapshot(h, state):
            from deepslate import _vm
            encodes.append(1)
            return _vm.encode_snapshot(h, state)
    eng = await start_engine(max_snapshot_bytes=2_000_000, budget=20_000, vm=CountingVM())
    try:
        await with_bystander(eng, "p", "appends_forever", {})
        with pytest.raises(FlowFailed, match="over the limit of 2000000"):
            await eng.wait("p", timeout=30)
        await bystander_ok(eng)
        # preemptions write nothing and check the size at the 1st, 2nd, 4th ... in a row:
        # the loop ran hundreds of budgets, the encodes stay logarithmic in them
        assert len(encodes) < 40
    finally:
        await stopped(eng)


async def test_a_result_the_store_cannot_encode_fails_only_its_isolate(start_engine):
    eng = await start_engine()
    try:
        await with_bystander(eng, "p", "takes_a_set", {})
        with pytest.raises(FlowFailed, match=r"@impure .*returns_a_set returned a value a flow cannot hold: set"):
            await eng.wait("p", timeout=10)
        await bystander_ok(eng)
    finally:
        await stopped(eng)


async def test_after_a_poisoned_run_a_restart_runs_on(start_engine):
    eng = await start_engine(max_snapshot_bytes=200_000)
    try:
        for i, (flow, args) in enumerate([("huge_wg_add", {}), ("huge_capacity", {}), ("grows", {"n": 100_000}),
                                          ("prints_surrogate", {})]):
            await eng.spawn(f"p{i}", flow, args)
        await eng.spawn("s", "steady", {"n": 2000})
        await asyncio.sleep(0.3)
    finally:
        await stopped(eng)
    eng = await start_engine(max_snapshot_bytes=200_000)
    try:
        assert await eng.wait("s", timeout=30) == sum(range(2000))
        assert eng.failure is None
    finally:
        await stopped(eng)


# -- 2. a user exception of any type fails one isolate -------------------------------------


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt(), asyncio.CancelledError(), F.Boom("x"),
                                 GeneratorExit()], ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("flow", ["pure_raises", "impure_raises", "impure_raises_async"])
async def test_a_base_exception_from_user_code_fails_one_isolate(start_engine, flow, exc):
    F.RAISE["k"] = exc
    eng = await start_engine()
    try:
        await with_bystander(eng, "p", flow, {"kind": "k"})
        with pytest.raises(FlowFailed) as e:
            await eng.wait("p", timeout=10)
        assert e.value.exc_type == type(exc).__name__
        assert e.value.where.startswith(F.__file__)
        await bystander_ok(eng)
        await eng.spawn("after", "steady", {"n": 3})            # the workers are all still there
        assert await eng.wait("after", timeout=10) == 3
    finally:
        await stopped(eng)


# -- 3. a hand-off is decided with the giver's commit -----------------------------------------


@pytest.mark.parametrize("flow", ["handoff_fails", "wg_done_fails"])
async def test_a_giver_whose_step_is_refused_hands_nothing_on(start_engine, flow):
    # the child puts (or counts down) and, in the same step, outgrows the snapshot limit: the
    # step never happened, so the getter (or waiter) must not see it, in memory or the store
    eng = await start_engine(max_snapshot_bytes=200_000)
    try:
        await with_bystander(eng, "m", flow, {"n": 100_000})
        await exists(eng, "m/1")
        with pytest.raises(FlowFailed, match="over the limit"):
            await eng.wait("m/1", timeout=10)
        await bystander_ok(eng)
        await asyncio.sleep(0.2)
        assert await eng.status("m") == "waiting"
        queues, _, wgs = eng.shared_view()
        shared = eng.store.load_shared()
        assert queues == {q: [s for s, _ in items] for q, (_, _, items) in shared.queues.items()}
        assert all(not items for items in queues.values())
        assert wgs == shared.waitgroups and all(c == 1 for c in wgs.values())
    finally:
        await stopped(eng)


# -- 4. locks: one holder, in memory and in the store -------------------------------------------


def holders(log: list[str]) -> None:
    inside: list[str] = []
    for line in log:
        what, who = line.split()
        if what == "enter":
            assert not inside, f"{who} entered while {inside} held the lock: {log}"
            inside.append(who)
        else:
            assert inside == [who], log
            inside.remove(who)


async def test_cancel_hands_a_lock_on_only_after_its_release_is_durable(start_engine):
    eng = await start_engine()
    batches: list[list] = []
    commit = eng.store.commit_batch

    def recording(node, epoch, commits):
        commit(node, epoch, commits)
        batches.append([(c.isolate_id, c.status, [op for op in c.ops if type(op).__name__ == "LockSet"])
                        for c in commits])
    eng.store.commit_batch = recording
    try:
        await eng.spawn("s", "cancel_scene", {})
        await asyncio.sleep(0.6)
        assert F.LOG == ["enter h"]
        h, w = eng.store.get_isolate("s/1").id, eng.store.get_isolate("s/2").id
        assert await eng.cancel("s/1") is True
        assert await eng.wait("s/2", timeout=10) is None
        assert F.LOG == ["enter h", "enter w", "exit w"]       # h was cancelled inside
        released = next(i for i, b in enumerate(batches) for iid, st, ops in b
                        if iid == h and st == "cancelled" and ops)
        taken = next(i for i, b in enumerate(batches) for iid, st, ops in b
                     if iid == w and any(op.holder == w for op in ops))
        assert released < taken, batches
        assert eng.shared_view()[1] == eng.store.load_shared().locks
    finally:
        await stopped(eng)


async def f_fails_holding_the_lock(eng: Engine) -> None:
    """lock_retry_scene: f (s/1) fails inside its critical section; g (s/2) takes the lock next."""
    await eng.spawn("s", "lock_retry_scene", {})
    await exists(eng, "s/1")
    with pytest.raises(FlowFailed, match="provider down"):
        await eng.wait("s/1", timeout=10)


async def test_retry_takes_back_the_lock_its_snapshot_holds(start_engine):
    eng = await start_engine()
    try:
        await f_fails_holding_the_lock(eng)
        err = json.loads(eng.store.get_isolate("s/1").error)
        assert err["held"] == [1]
        await asyncio.sleep(0.35)                       # g (s/2) holds the lock now
        assert F.LOG == ["enter f", "enter g"]          # f failed inside: its exit never ran
        F.BROKEN["on"] = False
        assert await eng.retry("s/1") is True
        assert await eng.wait("s/1", timeout=10) == 7
        assert await eng.wait("s/2", timeout=10) is None
        # f let go of the lock when it failed and g took it; f, retried while g holds it,
        # resumes only once it has the lock back: its exit comes after g's
        assert F.LOG == ["enter f", "enter g", "exit g", "exit f"]
        assert eng.shared_view()[1] == eng.store.load_shared().locks
    finally:
        await stopped(eng)


async def test_a_restart_while_a_retry_waits_for_its_lock_goes_on_waiting(start_engine, any_store):
    eng = await start_engine()
    try:
        await f_fails_holding_the_lock(eng)
        await asyncio.sleep(0.3)                        # g (s/2) holds the lock for 0.5 s
        F.BROKEN["on"] = False
        assert await eng.retry("s/1") is True
        assert await eng.status("s/1") == "waiting"     # for the lock g holds
    finally:
        await stopped(eng)
    st = any_store.open()
    try:
        assert json.loads(st.get_isolate("s/1").error)["held"] == [1]
    finally:
        st.close()
    eng = await start_engine()                          # the row says which locks it still needs
    try:
        assert await eng.wait("s/1", timeout=10) == 7
        assert await eng.wait("s/2", timeout=10) is None
        assert F.LOG == ["enter f", "enter g", "exit g", "exit f"]
        assert eng.shared_view()[1] == eng.store.load_shared().locks
    finally:
        await stopped(eng)


# -- 5. retry after a restart, concurrent retries, cancel of a failed tree ----------------------


async def test_retry_works_after_a_restart_and_runs_the_step_once(start_engine):
    eng = await start_engine()
    try:
        await eng.spawn("a", "fails_once", {"who": "a"})
        with pytest.raises(FlowFailed, match="provider down"):
            await eng.wait("a", timeout=10)
    finally:
        await stopped(eng)
    eng = await start_engine()                                          # a new lease epoch
    try:
        F.BROKEN["on"] = False
        before = F.CALLS["a"]
        results = await asyncio.gather(eng.retry("a"), eng.retry("a"), eng.retry("a"))
        assert sorted(results) == [False, False, True]             # a double click runs it once
        assert await eng.wait("a", timeout=10) == 7
        assert F.CALLS["a"] == before + 1
        assert eng.store.load_shared().queues == {}                # the tree ended: collected
    finally:
        await stopped(eng)


async def test_cancel_ends_a_failed_tree_and_collects_its_objects(start_engine):
    eng = await start_engine()
    try:
        await eng.spawn("a", "fails_once", {"who": "a"})
        with pytest.raises(FlowFailed):
            await eng.wait("a", timeout=10)
        assert len(eng.store.load_shared().queues) == 1             # kept for a retry
    finally:
        await stopped(eng)
    eng = await start_engine()
    try:
        assert await eng.cancel("a") is True
        with pytest.raises(FlowCancelled):
            await eng.wait("a", timeout=5)
        assert eng.store.load_shared().queues == {} and eng.shared.queues == {}
        assert await eng.retry("a") is False
        assert await eng.cancel("a") is False
    finally:
        await stopped(eng)


async def test_cancel_stops_the_whole_tree_before_it_first_waits(start_engine):
    # before, the isolate stopped only when cancel's task first ran, and its descendants
    # after store look-ups: a grandchild holding a lock could run on meanwhile
    eng = await start_engine()
    try:
        await eng.spawn("r", "tree_root", {})
        await exists(eng, "r/1/1")
        await asyncio.sleep(0.05)
        tree = [eng.by_name[n] for n in ("r", "r/1", "r/1/1")]
        cancelling = asyncio.ensure_future(eng.cancel("r"))
        await asyncio.sleep(0)                      # cancel ran up to its first await
        assert [i.active for i in tree] == [False, False, False]
        spins = F.CALLS.get("spin", 0)
        assert await cancelling is True
        for n in ("r", "r/1", "r/1/1"):
            with pytest.raises(FlowCancelled):
                await eng.wait(n, timeout=5)
        await asyncio.sleep(0.05)
        assert F.CALLS.get("spin", 0) <= spins + 1   # at most the call in flight
    finally:
        await stopped(eng)


# -- 6. values are copied at every boundary ----------------------------------------------------------


async def test_spawn_arguments_are_the_flows_own(start_engine):
    eng = await start_engine()
    try:
        xs = [1, 2]
        await eng.spawn("a", "keeps_arg", {"xs": xs})
        xs.append(3)                                   # the caller reuses its list
        assert await eng.wait("a", timeout=10) == [1, 2]
    finally:
        await stopped(eng)


async def test_impure_results_are_copied(start_engine):
    eng = await start_engine()
    try:
        await eng.spawn("a", "mutates_impure_result", {})
        await eng.spawn("b", "mutates_impure_result", {})
        assert await eng.wait("a", timeout=10) == [1, 2, 3, 99]
        assert await eng.wait("b", timeout=10) == [1, 2, 3, 99]
        assert F.SHARED_LIST == [1, 2, 3]
    finally:
        await stopped(eng)


# -- 7. @impure calls cannot starve each other ----------------------------------------------------------


async def test_hung_impure_calls_do_not_hold_capacity_others_need(start_engine):
    eng = await start_engine(impure_threads=2)
    try:
        for i in range(8):
            await eng.spawn(f"h{i}", "hangs", {"i": i})
        await asyncio.sleep(0.2)
        await eng.spawn("a", "fails_once", {"who": "a"})
        F.BROKEN["on"] = False
        assert await eng.wait("a", timeout=5) == 7
        # a call's timeout counts from its start: twenty 0.2 s calls on a small pool all finish
        for i in range(20):
            await eng.spawn(f"n{i}", "naps", {"seconds": 0.2})
        for i in range(20):
            assert await eng.wait(f"n{i}", timeout=10) == "rested"
    finally:
        F.HANG.set()
        await stopped(eng)


async def test_blocking_impure_calls_get_the_threads_they_need(start_engine):
    # the pool starts with one thread (quick calls run fastest without a fight for the GIL);
    # calls that block make it grow: these four return only once all four run at once
    eng = await start_engine()
    try:
        for i in range(4):
            await eng.spawn(f"m{i}", "meets", {"i": i})
        assert [await eng.wait(f"m{i}", timeout=15) for i in range(4)] == [0, 1, 2, 3]
        assert eng.impure_pool.threads >= 4
    finally:
        F.MEET.abort()
        await stopped(eng)


# -- 8. a slow @pure is named; 9. smaller ----------------------------------------------------------------


async def test_a_step_that_holds_the_loop_is_logged_with_its_function(start_engine, caplog):
    eng = await start_engine(slow_step_seconds=0.1)
    try:
        with caplog.at_level(logging.WARNING, logger="deepslate.runtime"):
            await eng.spawn("slow", "holds_loop", {"seconds": 0.5})
            assert await eng.wait("slow", timeout=10) == 1
        text = caplog.text
        assert "isolate 'slow' (flow holds_loop) has held the engine loop" in text
        assert "in slow_pure" in text and "time.sleep(seconds)" in text
        assert "held the engine loop for" in text and "isoflows.py" in text
    finally:
        await stopped(eng)


async def test_printing_without_bound_between_durable_points_keeps_a_bounded_log(start_engine):
    from deepslate._vm import MAX_LOG_LINES
    eng = await start_engine(budget=20_000)            # preempted many times while it prints
    try:
        await with_bystander(eng, "p", "prints_a_lot", {"n": 4 * MAX_LOG_LINES})
        assert await eng.wait("p", timeout=30) == 4 * MAX_LOG_LINES
        await bystander_ok(eng)
        row = eng.store.get_isolate("p")
        assert row.log_seq == MAX_LOG_LINES + 1
        log = eng.store.read_log(row.id, limit=2)
        assert log == [f"line {MAX_LOG_LINES - 1}", f"... {3 * MAX_LOG_LINES} more lines printed here were "
                       f"not kept (at most {MAX_LOG_LINES} between two durable points)"]
    finally:
        await stopped(eng)


async def test_timed_out_waits_leave_nothing_behind(start_engine, caplog):
    eng = await start_engine()
    try:
        await eng.spawn("a", "hangs", {"i": 1})
        for _ in range(5):
            with pytest.raises(TimeoutError):
                await eng.wait("a", timeout=0.01)
        assert eng.by_name["a"].waiters == []
    finally:
        F.HANG.set()
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            await stopped(eng)
            gc.collect()
        assert "never retrieved" not in caplog.text


async def test_a_spawn_name_that_is_not_text_is_a_clear_error(start_engine):
    eng = await start_engine()
    try:
        with pytest.raises(ValueError, match="is not valid Unicode text"):
            await eng.spawn("a\ud800", "steady", {"n": 1})
        assert eng.store.count_isolates() == {}
    finally:
        await stopped(eng)


@pytest.mark.parametrize("kw, message", [
    ({"max_snapshot_bytes": 0}, "max_snapshot_bytes must be positive, not 0"),
    ({"slow_step_seconds": 0.0}, "slow_step_seconds must be positive, not 0.0"),
    ({"slow_step_seconds": float("nan")}, "slow_step_seconds must be positive, not nan"),
])
def test_bad_engine_settings_are_clear_errors(tmp_path, kw, message):
    store = SQLiteStore(str(tmp_path / "s.db"))
    try:
        with pytest.raises(ValueError, match=message):
            Engine(store, FLOWS, 4, **kw)
        assert store.count_isolates() == {}
    finally:
        store.close()
