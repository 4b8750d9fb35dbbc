# http_listen and http_request as durable effects: bodies in, JSON decoding, error values from
# either side. The test driver answers the requests from the scripts below.
# cpython: no (http effects need a driver)
from dataclasses import dataclass

from deepslate import DSError, flow, http_listen, http_request, json_marshal, json_unmarshal


@dataclass
class Order:
    id: int
    items: list[str]


# run: handle()
# effect: http_listen -> b'[1, 2, 3]'
# expect: 6
# trace: http_listen
# run: handle()
# effect: http_listen -> DSError("listener closed")
# expect: -1
@flow
async def handle() -> int:
    data: bytes | DSError
    data = http_listen("POST", "/numbers")
    if not isinstance(data, bytes):
        return -1
    nums: list[int] | DSError = json_unmarshal[list[int]](data)
    if isinstance(nums, DSError):
        return -2
    total: int = 0
    for n in nums:
        total = total + n
    return total


# run: relay()
# effect: http_listen -> b'{"id": 7, "items": ["tea", "cake"]}'
# effect: http_request -> b'accepted'
# expect: 'order 7: accepted'
# trace: http_listen http_request
# run: relay()
# effect: http_listen -> b'{"id": 7}'
# expect: 'bad order: json_unmarshal: $.items: missing field of Order'
# run: relay()
# effect: http_listen -> b'{"id": 8, "items": []}'
# effect: http_request -> DSError("connection refused")
# expect: 'order 8 not sent: connection refused'
# run: relay()
# effect: http_listen -> b'{"id": 9, "items": ["x"]}'
# effect: http_request -> b'busy'
# expect: 'order 9: refused'
@flow
async def relay() -> str:
    body: bytes | DSError = http_listen("POST", "/orders")
    if isinstance(body, DSError):
        return "no order"
    order: Order | DSError = json_unmarshal[Order](body)
    if isinstance(order, DSError):
        return "bad order: " + str(order)
    headers: dict[str, str] = {"content-type": "application/json"}
    payload: bytes | DSError = json_marshal(order)
    if isinstance(payload, DSError):
        return "cannot encode: " + str(payload)
    resp: bytes | DSError = http_request("POST", "http://127.0.0.1:9/kitchen", headers, payload)
    if isinstance(resp, DSError):
        return "order " + str(order.id) + " not sent: " + str(resp)
    if resp == b"accepted":
        return "order " + str(order.id) + ": accepted"
    return "order " + str(order.id) + ": refused"


# run: patient(tries=2)
# effect: http_request -> DSError("HTTP 503 Service Unavailable", "http", 503)
# expect: 'gave up after 3 tries: http 503'
# trace: http_request
# run: patient(tries=0)
# effect: http_request -> b'ok'
# expect: 'ok'
@flow
async def patient(tries: int) -> str:
    wait: float = 0.5 * (tries + 1)
    r: bytes | DSError = http_request("GET", "http://127.0.0.1:9/slow", {}, b"", timeout=wait, retries=tries,
                                      backoff=1, max_response_bytes=1024)
    if isinstance(r, DSError):
        return "gave up after " + str(tries + 1) + " tries: " + r.kind + " " + str(r.code)
    if r == b"ok":
        return "ok"
    return "other"
