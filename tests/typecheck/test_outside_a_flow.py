"""The typed names keep their run-time behaviour: outside a flow each raises, naming itself."""
import pytest

from deepslate import dpslio, http_listen, http_request, json_marshal, json_unmarshal, now, random, sleep, uuid4
from deepslate._awaitable import AwaitableBytes, Durable


@pytest.mark.parametrize("call,name", [
    (lambda: sleep(1.0), "sleep"), (lambda: http_listen("POST", "/a"), "http_listen"),
    (lambda: http_listen("POST", "/a", timeout=1.0), "http_listen"),
    (lambda: http_request("GET", "http://x", {}, b"", retries=1), "http_request"),
    (lambda: json_marshal(1), "json_marshal"), (lambda: json_unmarshal[int](b"1"), "json_unmarshal"),
    (lambda: now(), "now"), (lambda: random(), "random"), (lambda: uuid4(), "uuid4"),
    (lambda: dpslio.Queue[int](1).put(1), "Queue.put"), (lambda: dpslio.Queue[int](1).get(), "Queue.get"),
    (lambda: dpslio.Lock(1).acquire(), "Lock.acquire"), (lambda: dpslio.Lock(1).release(), "Lock.release"),
    (lambda: dpslio.WaitGroup(1).add(1), "WaitGroup.add"), (lambda: dpslio.WaitGroup(1).done(), "WaitGroup.done"),
    (lambda: dpslio.WaitGroup(1).wait(), "WaitGroup.wait"),
])
def test_flow_operations_raise_outside_a_flow(call, name):
    with pytest.raises(RuntimeError, match=rf"{name}(\(\))? is a flow operation and only works inside an @flow"):
        call()


def test_the_typing_helpers_cannot_be_awaited():
    with pytest.raises(RuntimeError, match="awaited only inside an @flow"):
        Durable().__await__()
    with pytest.raises(RuntimeError, match="awaited only inside an @flow"):
        AwaitableBytes(b"x").__await__()
