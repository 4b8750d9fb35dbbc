"""Waiting in tests for what the engine does in its own time."""
import asyncio


async def until(cond, timeout: float = 10.0) -> None:
    """Poll ``cond`` (no fixed sleeps: a loaded machine commits late)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


def until_sync(cond, timeout: float = 10.0) -> None:
    """``until`` for a test with no event loop of its own."""
    import time
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)
