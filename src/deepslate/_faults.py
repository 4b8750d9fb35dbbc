"""Named fault points, for the crash tests (RELIABILITY target 2).

The runtime and the store call ``fault_point("name")`` at the moments a crash
is most interesting. Unless the process was started with ``DEEPSLATE_FAULTS``
set, a call costs one None check. The variable is read once, at import.

Syntax: ``DEEPSLATE_FAULTS=POINT:N:ACTION[,POINT:N:ACTION...]``

- ``POINT``: the name of a point (``POINTS`` lists them).
- ``N``: the point fires the N-th time it is reached (1-based) in this process.
- ``ACTION``: ``exit`` ends the process at once with ``os._exit(137)``, as a
  SIGKILL would (no cleanup, no flush, no rollback); ``dberror`` raises
  ``sqlite3.OperationalError`` there, as a failing disk or database would.

Before acting, a firing point appends one JSON line (point, hit, action, and
for ``mid_group_commit`` each isolate id and step number of the batch) to the
file named by ``DEEPSLATE_FAULTS_REPORT`` when that is set, so a test knows
what was cut.

The points:

- ``before_commit`` (store/sqlite.py): a batch's rows are written, its
  transaction not yet committed.
- ``mid_group_commit`` (store/sqlite.py): inside that transaction between two
  isolates' rows of one batch (after the first isolate's rows, before the
  last's); a batch of one isolate never reaches it.
- ``after_commit_before_resume`` (runtime/writer.py): the batch is committed,
  no isolate or caller has been told.
- ``after_inbox_insert_before_202`` (Engine.send): an inbound message is
  committed, its sender not yet acknowledged.
- ``after_claim_before_heartbeat`` (Engine.start): the store claimed this
  node's isolates and loaded them; none runs yet.
- ``parent_ended_before_children`` (Engine._finish): an isolate that created
  children has ended for good and its end is durable; its attached children
  are not cancelled yet.
"""
from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

POINTS = ("before_commit", "after_commit_before_resume", "mid_group_commit", "after_inbox_insert_before_202",
          "after_claim_before_heartbeat", "parent_ended_before_children")
ACTIONS = ("exit", "dberror")
EXIT_CODE = 137          # what a shell reports for a SIGKILLed process


class FaultSpecError(ValueError):
    """DEEPSLATE_FAULTS could not be parsed; the message names the bad part."""


def parse(spec: str) -> dict[str, tuple[int, str]]:
    """``"before_commit:3:exit,..."`` -> {point: (n, action)}."""
    out: dict[str, tuple[int, str]] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        bits = part.split(":")
        if len(bits) != 3:
            raise FaultSpecError(f"DEEPSLATE_FAULTS: {part!r} is not POINT:N:ACTION")
        point, n, action = bits
        if point not in POINTS:
            raise FaultSpecError(f"DEEPSLATE_FAULTS: unknown point {point!r} in {part!r} "
                                 f"(points: {', '.join(POINTS)})")
        if not n.isdigit() or int(n) < 1:
            raise FaultSpecError(f"DEEPSLATE_FAULTS: N must be a positive integer, not {n!r} in {part!r}")
        if action not in ACTIONS:
            raise FaultSpecError(f"DEEPSLATE_FAULTS: unknown action {action!r} in {part!r} "
                                 f"(actions: {', '.join(ACTIONS)})")
        if point in out:
            raise FaultSpecError(f"DEEPSLATE_FAULTS: point {point!r} is given twice")
        out[point] = (int(n), action)
    return out


_armed: dict[str, tuple[int, str]] | None = None
_hits: dict[str, int] = {}
_report: str | None = None


def configure(spec: str | None, report: str | None = None) -> None:
    """Arm the points of ``spec`` (None or "" disarms all) and reset the hit counts.

    For a process forked from one that already imported this module (the crash tests'
    zygote); every other process is configured from its environment at import."""
    global _armed, _report
    armed = parse(spec) if spec else {}
    _armed = armed or None
    _report = report or None
    _hits.clear()


def hits(name: str) -> int:
    """How often an armed point was reached so far."""
    return _hits.get(name, 0)


def fault_point(name: str, batch: Any = None, item: Any = None) -> None:
    """Fire the fault armed at ``name``, if any. ``batch``/``item`` (mid_group_commit only):
    the commits of the transaction and the one about to be written."""
    if _armed is None:
        return
    _reached(name, batch, item)


def _reached(name: str, batch: Any, item: Any) -> None:
    assert _armed is not None
    if name not in _armed:
        return
    if batch is not None and (not batch or item is batch[0]):
        return                                    # not between two rows of one batch
    n = _hits[name] = _hits.get(name, 0) + 1
    want, action = _armed[name]
    if n != want:
        return
    if _report:
        rec: dict[str, Any] = {"point": name, "hit": n, "action": action, "pid": os.getpid()}
        if batch is not None:
            rec["batch"] = [[getattr(c, "isolate_id", None), getattr(c, "steps", None)] for c in batch]
            rec["written"] = next(i for i, c in enumerate(batch) if c is item)
        with open(_report, "a") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())
    if action == "exit":
        os._exit(EXIT_CODE)
    raise sqlite3.OperationalError(f"injected fault at {name} (hit {n}, DEEPSLATE_FAULTS)")


configure(os.environ.get("DEEPSLATE_FAULTS"), os.environ.get("DEEPSLATE_FAULTS_REPORT"))
