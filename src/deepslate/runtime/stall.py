"""Naming what holds the engine's loop: a flow's step runs on the loop, and a slow @pure
call in it delays every other isolate (and the writer and the heartbeat) meanwhile."""
from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING

from .isolate import Iso, frames_of

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger("deepslate.runtime")


class StallWatch:
    """A thread that names what holds the engine loop while a step runs too long (a slow @pure):
    the loop cannot report it itself, as asyncio's debug mode reports slow callbacks only after."""

    def __init__(self, engine: "Engine", loop_thread: int):
        self.engine = engine
        self.loop_thread = loop_thread
        self.every = max(engine.slow_step_seconds / 2, 0.01)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="deepslate-stall-watch", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        told = None
        while not self.stop.wait(self.every):
            now = self.engine._stepping
            if now is None or now is told:
                continue
            iso, t0 = now
            if time.perf_counter() - t0 < self.engine.slow_step_seconds:
                continue
            told = now
            frame = sys._current_frames().get(self.loop_thread)
            stack = "".join(traceback.format_stack(frame, limit=4)) if frame is not None else "(no Python frame)\n"
            log.warning("isolate %r (flow %s) has held the engine loop for over %.2f s; it is now in:\n%s",
                        iso.name, iso.flow, self.engine.slow_step_seconds, stack.rstrip())

    def close(self) -> None:
        self.stop.set()


def slow_step(iso: Iso, took: float) -> None:
    """After a step that held the loop: where it went, to move its slow work off the loop."""
    where = frames_of(iso)
    at = f"{where[-1][1]}:{where[-1][2]} in {where[-1][0]}" if where else "its end"
    log.warning("isolate %r (flow %s) held the engine loop for %.2f s in one step, which reached %s; "
                "move slow work into an @impure function", iso.name, iso.flow, took, at)
