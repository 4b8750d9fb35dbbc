"""The flow of test_http_checkpoint.py: one http_request, its answer noted outside the store."""
import os

from deepslate import DSError, flow, http_request, impure, sleep


@impure
def note(path: str, body: bytes) -> None:
    # runs only once the snapshot holding body is committed: a line here means the answer is durable
    with open(path, "a") as f:
        f.write(body.hex() + "\n")
        f.flush()
        os.fsync(f.fileno())


@flow
async def fetch_once(url: str, out: str) -> bytes | DSError:
    r: bytes | DSError = http_request("GET", url, {}, b"")
    if isinstance(r, DSError):
        return r
    note(out, r)
    sleep(0.5)          # room for the kill to land before the end
    return r
