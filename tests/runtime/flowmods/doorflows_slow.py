"""Flows that hold the engine loop, for the tests of the doors' own timeouts."""
import threading
import time

from deepslate import flow, pure, sleep

STALLING = threading.Event()     # set once stall() holds the engine loop


@pure
def stall(seconds: float) -> int:
    STALLING.set()
    time.sleep(seconds)          # a @pure runs inline on the engine loop: nothing else runs meanwhile
    return 1


@flow
async def hog(seconds: float) -> int:
    sleep(0.0)
    return stall(seconds)


@flow
async def idle(seconds: float) -> str:
    sleep(seconds)
    return "idled"
