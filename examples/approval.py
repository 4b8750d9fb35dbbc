"""A human in the loop: an expense waits for an approve or reject POST, or gives up at a deadline.

    .venv/bin/python examples/approval.py [--store approvals.db] [--addr 127.0.0.1:8765]
                                         [--name expense-42] [--deadline 3600]

It prints the two URLs to POST to. Kill it while it waits and run it again: the request is
still pending, with the same deadline; a decision posted meanwhile was kept and is taken."""
import argparse

from deepslate import DSError, dpslio, flow, http_listen, json_unmarshal, new_sqlite, sleep, spawn_workers
from dataclasses import dataclass


@dataclass
class Decision:
    by: str
    note: str


@flow
async def approval(what: str, deadline: float) -> str:
    print(f"waiting for a decision on {what}")
    body: bytes = b""
    verdict: str = ""
    match dpslio.select:
        case _ if yes := await http_listen("POST", "/approve"):
            body = yes
            verdict = "approved"
        case _ if no := await http_listen("POST", "/reject"):
            body = no
            verdict = "rejected"
        case _ if await sleep(deadline):
            print(f"no decision within {deadline} s")
            return f"{what}: expired"
    d: Decision | DSError = json_unmarshal[Decision](body)
    if isinstance(d, DSError):
        return f"{what}: {verdict} (unreadable note: {d.message})"
    print(f"{verdict} by {d.by}: {d.note}")
    return f"{what}: {verdict} by {d.by}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default="approvals.db")
    ap.add_argument("--listen", default="127.0.0.1:8765", help="where the ingress listens (port 0: any free one)")
    ap.add_argument("--name", default="expense-42")
    ap.add_argument("--deadline", type=float, default=3600.0, help="seconds to wait for a decision")
    a = ap.parse_args()
    platform, _ = new_sqlite(a.store, a.listen)
    spawn, wait, cancel, stop = spawn_workers(2, platform, [approval])
    try:
        _, exists = spawn(a.name, "approval", {"what": a.name, "deadline": a.deadline})
        url = f"{platform.engine.ingress_url if platform.engine else ''}/{a.name}"
        print(f"{a.name}: {'still pending' if exists else 'pending'}; decide with", flush=True)
        print(f"  curl -X POST {url}/approve -d '{{\"by\": \"ann\", \"note\": \"ok\"}}'", flush=True)
        print(f"  curl -X POST {url}/reject -d '{{\"by\": \"bob\", \"note\": \"too much\"}}'", flush=True)
        print("result:", wait(a.name), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        stop()


if __name__ == "__main__":
    main()
