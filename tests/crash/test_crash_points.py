"""Enumerated crash points (RELIABILITY target 2): every durable operation kind x every named
fault point of deepslate._faults, each scenario its own test.

A scenario is a list of phases, each a fresh worker process forked from one zygote: the
phases with a fault die at it (``exit``: os._exit(137) as a SIGKILL would, ``dberror``: the
engine must report the failure), the last phase runs without faults to the end. Then target
1's invariants are checked on the whole history: exact results, every @impure call ran at
least once and at most once plus the crashes, one idempotency key per call, 0 isolates
failed; for mid_group_commit, right after the crash, either every isolate of the cut batch
shows its step or none does.
"""
import json
import os
import sqlite3
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pointharness import PointZygote, Recorder, check_history  # noqa: E402

pytestmark = pytest.mark.timeout(120)

MODES = ["sleep", "impure", "http_request", "http_listen", "queue", "lock", "waitgroup", "create_task",
         "spawn", "return"]


def scenarios():
    out = []
    for m in MODES:
        out.append((m, ["before_commit:1:exit"]))            # the first commit: a spawn
        out.append((m, ["before_commit:3:exit"]))
        out.append((m, ["after_commit_before_resume:1:exit"]))
        out.append((m, ["after_commit_before_resume:3:exit"]))
        out.append((m, ["mid_group_commit:1:exit"]))
        # a crash during recovery: after the store claimed the isolates, before they run (the
        # spawn mode's eight isolates take 4 commits in all: spawns, first steps, effects, ends)
        first = 3 if m == "spawn" else 5
        out.append((m, [f"before_commit:{first}:exit", "after_claim_before_heartbeat:1:exit"]))
    for m in ("sleep", "impure", "http_request", "queue", "lock"):
        # two crashes; the counts leave room for the restart's batching (three resumed isolates
        # of the impure mode step in one batch each round: 11 commits in all, 6 after a crash at 6)
        out.append((m, ["before_commit:6:exit", "after_commit_before_resume:3:exit"]))
    # cut the batch in which the restarted isolates all take their next step at once
    out.append(("impure", ["mid_group_commit:1:exit", "mid_group_commit:1:exit"]))
    out.append(("http_listen", ["after_inbox_insert_before_202:1:exit"]))
    out.append(("http_listen", ["after_inbox_insert_before_202:6:exit"]))
    out.append(("http_listen", ["before_commit:4:exit", "after_inbox_insert_before_202:1:exit"]))
    # a database error: the engine stops with a clear error, a restart loses nothing
    for m in ("impure", "queue", "lock", "create_task"):
        out.append((m, ["before_commit:3:dberror"]))
    out.append(("waitgroup", ["mid_group_commit:1:dberror"]))
    out.append(("spawn", ["after_commit_before_resume:2:dberror"]))
    out.append(("impure", ["before_commit:4:exit", "after_claim_before_heartbeat:1:dberror"]))
    return out


SCENARIOS = scenarios()


@pytest.fixture(scope="module")
def zygote():
    z = PointZygote()
    yield z
    z.close()


@pytest.fixture(scope="module")
def recorder():
    r = Recorder()
    yield r
    r.close()


def cut_batch_shows(store, batch):
    """How many isolates of a cut batch show its step in the store (a created one: its row)."""
    db = sqlite3.connect(store)
    try:
        shown = 0
        for iid, steps in batch:
            row = db.execute("SELECT steps FROM isolates WHERE id = ?", (iid,)).fetchone()
            shown += row is not None and row[0] >= steps
        return shown
    finally:
        db.close()


@pytest.mark.parametrize("mode,phases", SCENARIOS,
                         ids=[f"{m}-{'+'.join(p)}" for m, p in SCENARIOS])
def test_crash_point(mode, phases, zygote, recorder, tmp_path):
    assert len(SCENARIOS) >= 40
    store, effects, report = str(tmp_path / "s.db"), str(tmp_path / "effects.txt"), str(tmp_path / "faults.jsonl")
    start = len(recorder.seen)
    crashes = 0
    for spec in phases:
        status, out = zygote.run(store=store, effects=effects, mode=mode, faults=spec, report=report,
                                 url=recorder.url, slow_commit=0.02 if "mid_group" in spec else 0)
        fired = [json.loads(x) for x in open(report)] if os.path.exists(report) else []
        point, _, action = spec.split(":")
        assert fired and fired[-1]["point"] == point, f"{spec} was never reached; output: {out}"
        os.remove(report)
        crashes += 1
        if action == "exit":
            assert status == 137, f"{spec}: exit status {status}, output: {out}"
        else:
            errors = [x for x in out if x.startswith(("STOREERROR", "STARTERROR"))]
            assert status == 3 and errors, f"{spec}: the engine did not report the failure: {out}"
            assert "injected fault at " + point in errors[0], errors[0]
        if point == "mid_group_commit":
            batch = fired[-1]["batch"]
            assert len(batch) >= 2 and 1 <= fired[-1]["written"] < len(batch)
            shown = cut_batch_shows(store, batch)
            assert shown in (0, len(batch)), f"a group commit was cut in half: {shown} of {batch} show their step"
    status, out = zygote.run(store=store, effects=effects, mode=mode, faults=None, report=None,
                             url=recorder.url)
    res = [x for x in out if x.startswith("RESULT ")]
    assert status == 0 and res, f"the restart did not finish: {out}"
    results = json.loads(res[0][len("RESULT "):])
    mine = [s for s in recorder.seen[start:] if s[0] is not None and s[0].startswith(mode)]
    check_history(mode, store, effects, results, crashes, _Seen(mine) if mode == "http_request" else None)


class _Seen:
    def __init__(self, seen):
        self.seen = seen


# -- the DEEPSLATE_FAULTS syntax -------------------------------------------------------------

def test_fault_spec_parses_and_rejects_bad_parts():
    from deepslate import _faults as faults
    assert faults.parse("before_commit:3:exit, mid_group_commit:1:dberror") == {
        "before_commit": (3, "exit"), "mid_group_commit": (1, "dberror")}
    assert faults.parse("") == {}
    for bad, msg in [("before_commit:3", "is not POINT:N:ACTION"), ("nowhere:1:exit", "unknown point 'nowhere'"),
                     ("before_commit:0:exit", "N must be a positive integer"),
                     ("before_commit:x:exit", "N must be a positive integer"),
                     ("before_commit:1:explode", "unknown action 'explode'"),
                     ("before_commit:1:exit,before_commit:2:exit", "given twice")]:
        with pytest.raises(faults.FaultSpecError, match=msg):
            faults.parse(bad)


def test_fault_point_fires_at_the_nth_hit_only(tmp_path):
    from deepslate import _faults as faults
    report = str(tmp_path / "r.jsonl")
    try:
        faults.configure("before_commit:2:dberror,mid_group_commit:1:dberror", report)
        faults.fault_point("after_commit_before_resume")          # not armed: nothing
        faults.fault_point("before_commit")
        with pytest.raises(sqlite3.OperationalError, match="injected fault at before_commit"):
            faults.fault_point("before_commit")
        faults.fault_point("before_commit")                       # only the 2nd hit fires
        batch = [object(), object()]
        faults.fault_point("mid_group_commit", batch, batch[0])   # before the first row: not mid-batch
        assert faults.hits("mid_group_commit") == 0
        with pytest.raises(sqlite3.OperationalError):
            faults.fault_point("mid_group_commit", batch, batch[1])
        assert [json.loads(x)["point"] for x in open(report)] == ["before_commit", "mid_group_commit"]
    finally:
        faults.configure(None)
    faults.fault_point("before_commit")                           # disarmed
