"""Flows for the power-loss test: counters whose @impure reports each durable point it saw."""
import os
import time

from deepslate import flow, impure

# Where ``ack`` appends and how long it works; set per process: the worker logs to the live
# run's file and works a little, so the test's copies land among many commits; the test's
# resume of an image logs to that image's own file and does not wait.
ACKS = {"path": os.devnull, "delay": 0.0}


@impure
def ack(who: str, i: int) -> int:
    # runs only once the step pending at call i is committed: calls 0..i-1 are durable
    with open(ACKS["path"], "a") as f:
        f.write(f"ack {who} {i}\n")
    if ACKS["delay"]:
        time.sleep(ACKS["delay"])
    return i


@flow
async def counter(who: str, n: int, pad: str) -> int:
    total: int = 0
    for i in range(n):
        total = total + ack(who, i)
    return total + len(pad) - len(pad)


@flow
async def keep(pad: str) -> str:
    return pad
