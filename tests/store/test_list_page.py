"""The inspector's list reads, on SQLite and on PostgreSQL: keyset pages newest first, filters,
flows, recent steps."""
import time

import pytest

from deepslate.store import Commit, IsolateRow, SQLiteStore
from deepslate.store.base import PageKey, ProgramPut

NODE = "local"


def spawn(id, name, flow="f"):
    row = IsolateRow(id=id, name=name, flow=flow, program_hash=b"h" * 32, snapshot=b"s")
    return Commit(id, "running", b"s", 0, create=row, ops=[ProgramPut(b"h" * 32, b"body")])


@pytest.fixture
def store(any_store):
    return any_store.open()


def walk(store, **kw):
    """Every page of the list, following each page's last key."""
    pages, before = [], None
    while True:
        page = store.page_isolates(before=before, limit=3, **kw)
        if not page:
            return pages
        pages.append([r.name for r in page])
        before = PageKey(page[-1].updated_at, page[-1].id)


def test_pages_are_newest_first_and_ties_go_by_id(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn(i, f"a{i}") for i in range(1, 5)])     # one batch: one updated_at
    time.sleep(0.01)
    store.commit_batch(NODE, epoch, [spawn(i, f"b{i}") for i in range(5, 8)])
    assert walk(store) == [["b7", "b6", "b5"], ["a4", "a3", "a2"], ["a1"]]
    top = store.page_isolates(limit=1)[0]
    assert (top.name, top.flow, top.status, top.steps, top.parent_id) == ("b7", "f", "running", 0, None)
    assert top.updated_at == top.created_at


def test_an_isolate_that_updates_moves_up_without_shifting_the_next_page(store):
    epoch = store.claim(NODE)
    for i in range(1, 8):
        store.commit_batch(NODE, epoch, [spawn(i, f"n{i}")])
        time.sleep(0.002)
    first = store.page_isolates(limit=3)
    assert [r.name for r in first] == ["n7", "n6", "n5"]
    mark = PageKey(first[-1].updated_at, first[-1].id)
    assert [r.name for r in store.page_isolates(before=mark, limit=3)] == ["n4", "n3", "n2"]
    store.commit_batch(NODE, epoch, [Commit(3, "sleeping", b"s2", 1, wake_at=time.time() + 60, waiting_on="sleep")])
    # the page after the mark starts where it did: only the isolate that left it is gone
    assert [r.name for r in store.page_isolates(before=mark, limit=3)] == ["n4", "n2", "n1"]
    assert store.page_isolates(limit=1)[0].name == "n3"


def test_filters_by_status_flow_and_name(store):
    epoch = store.claim(NODE)
    names = ["order-1", "Order-2", "refund-1", "50%_off", "a\\b", "naïve/1"]
    store.commit_batch(NODE, epoch, [spawn(i, n, flow="refund" if "refund" in n else "order")
                                     for i, n in enumerate(names, 1)])
    store.commit_batch(NODE, epoch, [Commit(2, "failed", b"s", 1, error='{"message": "x"}')])
    assert [r.name for r in store.page_isolates(status="failed")] == ["Order-2"]
    assert store.page_isolates(status="failed")[0].error == '{"message": "x"}'
    assert [r.name for r in store.page_isolates(flow="refund")] == ["refund-1"]
    assert sorted(r.name for r in store.page_isolates(q="order")) == ["Order-2", "order-1"]    # ASCII case
    assert [r.name for r in store.page_isolates(q="%_")] == ["50%_off"]       # no wildcards in q
    assert [r.name for r in store.page_isolates(q="_")] == ["50%_off"]
    assert [r.name for r in store.page_isolates(q="a\\b")] == ["a\\b"]
    assert [r.name for r in store.page_isolates(q="ïve/")] == ["naïve/1"]
    assert store.page_isolates(status="running", flow="refund", q="ORDER") == []
    assert store.flow_names() == ["order", "refund"]


def test_flows_are_sorted_by_code_point_as_python_sorts(store):
    epoch = store.claim(NODE)
    flows = ["beta", "Zeta", "alpha", "Été", "_x"]
    store.commit_batch(NODE, epoch, [spawn(i, f"n{i}", flow=f) for i, f in enumerate(flows, 1)])
    assert store.flow_names() == sorted(flows) == ["Zeta", "_x", "alpha", "beta", "Été"]


def test_updated_since_gives_the_rows_written_after_a_time(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn(1, "old"), spawn(2, "busy")])
    time.sleep(0.01)
    t = time.time()
    store.commit_batch(NODE, epoch, [Commit(2, "running", b"s", 5)])
    [row] = store.updated_since(t)
    assert (row.id, row.status, row.steps) == (2, "running", 5) and row.created_at < t
    assert {r.id for r in store.updated_since(0)} == {1, 2}


def test_a_read_only_store_pages_what_a_writer_committed(tmp_path):
    w = SQLiteStore(str(tmp_path / "s.db"))
    r = SQLiteStore(str(tmp_path / "s.db"), readonly=True)
    try:
        epoch = w.claim(NODE)
        w.commit_batch(NODE, epoch, [spawn(1, "x")])
        assert [i.name for i in r.page_isolates()] == ["x"] and r.flow_names() == ["f"]
    finally:
        r.close()
        w.close()
