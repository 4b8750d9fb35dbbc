"""Flows for the http_request tests (tests/runtime/test_http_request.py)."""
from deepslate import DSError, flow, http_request


@flow
async def post(url: str) -> bytes | DSError:
    r: bytes | DSError = http_request("POST", url, {"X-Test": "1"}, b"ping")
    return r


@flow
async def status(url: str) -> str:
    r: bytes | DSError = http_request("GET", url, {}, b"")
    if isinstance(r, DSError):
        return f"{r.kind} {r.code}"
    return "ok " + str(len(r))


@flow
async def own_key(url: str) -> bytes | DSError:
    r: bytes | DSError = http_request("PUT", url, {"idempotency-key": "order-7"}, b"")
    return r


@flow
async def quick(url: str) -> bytes | DSError:
    r: bytes | DSError = http_request("GET", url, {}, b"", timeout=0.3, retries=0)
    return r


@flow
async def persistent(url: str, n: int) -> bytes | DSError:
    r: bytes | DSError = http_request("GET", url, {}, b"", retries=n, backoff=0.01, max_backoff=0.02)
    return r


@flow
async def capped(url: str, most: int) -> bytes | DSError:
    r: bytes | DSError = http_request("GET", url, {}, b"", max_response_bytes=most)
    return r


@flow
async def patient(url: str) -> bytes | DSError:
    r: bytes | DSError = http_request("GET", url, {}, b"", read_timeout=5.0, connect_timeout=5.0)
    return r
