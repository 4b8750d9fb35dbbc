"""Flow code as first deployed (program H1); version_h2 holds the redeployed source."""
from deepslate import flow, idempotency_key, impure, sleep


@impure
def mark(path: str, who: str, tag: str) -> str:
    with open(path, "a") as f:
        f.write(f"{who} {tag} {idempotency_key()}\n")
    return tag


@flow
async def pinned(path: str, who: str, secs: float) -> str:
    total: int = 1
    mark(path, who, "h1-start")
    sleep(secs)
    total = total + 2
    tag: str = mark(path, who, "h1-end")
    total = total + 3
    return tag + " " + str(total)
