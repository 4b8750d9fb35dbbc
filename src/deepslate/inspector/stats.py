"""The inspector's time series: steps per second and isolates by status, sampled about once a
second over the last ten minutes (``GET /api/stats``).

Steps come from the engine's own counter when it runs in this process. A standalone inspector
derives them from the store: each second it reads the rows written since the last look (the
index on ``updated_at`` makes that a short range) and adds up how far each isolate's step count
moved since it was last seen. Rows are read again for a couple of seconds after (a commit takes
its time before another connection sees it); a row seen twice adds only what moved between.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable

from ..store.base import StoreError
from .reader import Reader

if TYPE_CHECKING:
    from ..runtime.engine import Engine

log = logging.getLogger("deepslate.inspector")

INTERVAL = 1.0
WINDOW = 600              # samples kept: ten minutes
OVERLAP = 2.0             # seconds of rows read again at each look
ENDED = ("done", "cancelled")   # a failed isolate may be retried: its count is kept
PRUNE_EVERY = 60          # looks between two sweeps of the ended isolates out of the table


class Sampler:
    def __init__(self, reader: Reader, engine: Callable[[], "Engine | None"], *, interval: float = INTERVAL,
                 window: int = WINDOW):
        self.reader = reader
        self.engine = engine          # the engine in this process, if any (looked up at each sample)
        self.interval = interval
        self.samples: deque[dict[str, Any]] = deque(maxlen=window)
        self.started = time.time()
        self._last_t: float | None = None
        self._last_engine: tuple[int, int] | None = None      # (id of the engine, its steps_committed)
        self._seen: dict[int, tuple[int, float, bool]] = {}   # isolate id -> (steps, when read, ended)
        self._looks = 0
        self._since: float | None = None

    async def run(self) -> None:
        while True:
            t0 = time.monotonic()
            try:
                await self.sample()
            except StoreError as e:
                log.warning("deepslate inspector: could not sample the store: %s", e)
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - t0)))

    async def sample(self) -> dict[str, Any]:
        now = time.time()
        counts = await self.reader.call(self.reader.store.count_isolates)
        eng = self.engine()
        if eng is not None and eng.started:
            steps, source = self._engine_steps(eng), "engine"
        else:
            self._last_engine = None
            steps, source = await self._store_steps(now), "store"
        dt = now - self._last_t if self._last_t is not None else 0.0
        self._last_t = now
        rate = round(steps / dt, 1) if steps is not None and dt > 0 else None
        s = {"t": round(now, 3), "steps_per_second": rate, "statuses": dict(sorted(counts.items())),
             "source": source}
        self.samples.append(s)
        return s

    def _engine_steps(self, eng: "Engine") -> int | None:
        """Steps committed since the last sample (None at the first look at this engine)."""
        now = (id(eng), eng.steps_committed)
        last, self._last_engine = self._last_engine, now
        if last is None or last[0] != now[0] or now[1] < last[1]:
            return None
        return now[1] - last[1]

    async def _store_steps(self, now: float) -> int | None:
        """Steps the store's rows moved since the last sample (None at the first look)."""
        first = self._since is None
        since = (now if self._since is None else self._since) - OVERLAP
        rows = await self.reader.call(self.reader.store.updated_since, since)
        self._since = now
        moved = 0
        for r in rows:
            prev = self._seen.get(r.id)
            if prev is not None:
                before = prev[0]
            else:       # new since this inspector started: every step counts; else the first look
                before = 0 if r.created_at >= self.started else r.steps
            moved += max(0, r.steps - before)
            self._seen[r.id] = (r.steps, now, r.status in ENDED)
        self._looks += 1
        if self._looks % PRUNE_EVERY == 0:
            # an ended isolate is not written again: forget it once no look reads it again
            for iid in [i for i, (_, at, ended) in self._seen.items() if ended and at < since]:
                del self._seen[iid]
        return None if first else moved

    def series(self) -> dict[str, Any]:
        return {"interval": self.interval, "window": self.samples.maxlen, "samples": list(self.samples)}
