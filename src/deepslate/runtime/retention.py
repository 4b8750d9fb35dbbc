"""Retention: finished isolates are deleted some days after they ended.

``new_sqlite(path, retention=Retention(days=7))`` keeps the platform's policy; the engine
purges in a task of its own, at start and then every ``PURGE_EVERY`` seconds, in batches of
``PURGE_BATCH`` trees, each one store transaction on the database thread (commits of steps
queue between two batches, never behind the whole purge). Nothing of it runs in the step path.

The unit is a tree: a spawned isolate with every create_task descendant (``root_id``). A tree
is purged whole, once every isolate in it has one of the policy's statuses and ended before
the cut-off; so a child never vanishes while its root, or a detached sibling,
still runs, and a root never goes while a child may still be retried. With the tree goes
everything it owns: log lines, inbox messages and delivery ids, queues, locks and wait groups
(with their ids remembered, so none is ever given out again), and each program no remaining
isolate uses. Spawning a purged name again makes a new isolate.

Rejected: purging isolate by isolate (a child's row would go while its parent, which names it
in its children and may still cancel it, runs on); a per-step check (work in the hot path).
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from ..store.base import StoreError, check_statuses
from . import events

if TYPE_CHECKING:
    from .engine import Engine

PURGE_EVERY = 300.0         # seconds between two purges of a running engine
PURGE_BATCH = 200           # trees per transaction: a few ms on the database thread


@dataclass(frozen=True, init=False)
class Retention:
    """Keep finished isolates ``days`` days after they ended, then purge them (and all they
    own). ``statuses``: which finished ones; by default every finished one (done,
    cancelled, failed). ``Retention(days=30, statuses=("done",))`` keeps failures for ever."""
    days: float
    statuses: tuple[str, ...]

    def __init__(self, days: float, statuses: Iterable[str] = ("done", "cancelled", "failed")):
        if isinstance(days, bool) or not isinstance(days, (int, float)) or not math.isfinite(days) or days < 0:
            raise ValueError(f"Retention days must be a finite number of days, at least 0, not {days!r}")
        try:
            wanted = check_statuses(statuses)
        except (TypeError, ValueError) as e:
            raise ValueError(f"Retention {e}") from None
        object.__setattr__(self, "days", float(days))
        object.__setattr__(self, "statuses", wanted)

    @property
    def seconds(self) -> float:
        return self.days * 86400.0


def purge_all(store: Any, statuses: Iterable[str], before: float, batch: int = PURGE_BATCH) -> dict[str, Any]:
    """Purge in batches until nothing is left; the counts added up (``roots`` left out)."""
    total: dict[str, Any] = {}
    while True:
        report: dict[str, Any] = {}
        n = store.purge(statuses, before, batch, report=report)
        _add(total, report)
        if n == 0 and not report.get("requests"):
            return total


def _add(total: dict[str, Any], report: dict[str, Any]) -> None:
    for k, v in report.items():
        if k != "roots":
            total[k] = total.get(k, 0) + v


async def keep(engine: "Engine", policy: Retention) -> None:
    """The engine's retention task: purge now, then every PURGE_EVERY seconds. A purge that
    fails is logged and tried again next time: it changes nothing the engine holds in memory,
    so unlike a failed commit it has no reason to stop the engine."""
    while True:
        try:
            await purge_once(engine, policy)
        except StoreError as e:
            events.emit(events.ENGINE, logging.ERROR, "purge_failed", store=engine.store.path, error=str(e))
        await asyncio.sleep(PURGE_EVERY)


async def purge_once(engine: "Engine", policy: Retention) -> dict[str, Any]:
    """One purge of ``engine``'s store by ``policy``, batch after batch; logs and counts it."""
    before = time.time() - policy.seconds
    total: dict[str, Any] = {}
    while True:
        report: dict[str, Any] = {}
        n = await engine.run_db(engine.store.purge, policy.statuses, before, PURGE_BATCH, report=report)
        for root in report.get("roots", ()):
            engine.shared.collect(root)     # objects of a tree kept for a retry that never came
        _add(total, report)
        if n == 0 and not report.get("requests"):
            break
    engine.metrics.purged += total.get("isolates", 0)
    if total.get("isolates") or total.get("requests"):
        events.emit(events.ENGINE, logging.INFO, "purge", isolates=total.get("isolates", 0),
                    trees=total.get("trees", 0), programs=total.get("programs", 0),
                    log_lines=total.get("log_lines", 0), requests=total.get("requests", 0),
                    older_than_days=policy.days, statuses=",".join(policy.statuses))
    return total

