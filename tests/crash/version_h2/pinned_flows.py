"""The redeployed flow code (program H2): the same flow name and Python functions, another
flow body, so an isolate's result tells which program ran it."""
from deepslate import flow, idempotency_key, impure, sleep


@impure
def mark(path: str, who: str, tag: str) -> str:
    with open(path, "a") as f:
        f.write(f"{who} {tag} {idempotency_key()}\n")
    return tag


@flow
async def pinned(path: str, who: str, secs: float) -> str:
    total: int = 10
    mark(path, who, "h2-start")
    sleep(secs)
    total = total + 20
    tag: str = mark(path, who, "h2-end")
    total = total + 30
    return tag + " " + str(total)
