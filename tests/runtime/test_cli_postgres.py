"""The command-line verbs on a PostgreSQL store, named by URL (``?schema=`` picks the schema),
while an engine runs on it in this process."""
import json

import pytest

from deepslate import new_postgres, spawn_workers
from deepslate.cli import main
from deepslate.runtime import demo
from polling import until_sync
from stores import PG_URL, drop_schema, new_schema

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def running():
    schema = new_schema()
    platform, _ = new_postgres("cli-node", PG_URL, "127.0.0.1:0", schema=schema)
    w = spawn_workers(2, platform, [demo.counter])
    url = PG_URL + ("&" if "?" in PG_URL else "?") + f"schema={schema}"
    try:
        yield platform, w, url
    finally:
        w.stop()
        drop_schema(schema)


def test_ls_show_cancel_and_purge_by_url(running, capsys):
    platform, w, url = running
    w.spawn("c1", "counter", {})
    w.spawn("c2", "counter", {})
    until_sync(lambda: platform.store.get_isolate("c1").steps >= 2)
    assert main(["ls", url]) == 0
    out = capsys.readouterr().out
    assert "c1" in out and "c2" in out
    assert main(["show", url, "c1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["flow"] == "counter" and d["frames"][0]["locals"]["count"] >= 1
    assert main(["cancel", url, "c1"]) == 0             # filed in the store, applied by the engine
    assert platform.store.get_isolate("c1").status == "cancelled"
    capsys.readouterr()
    assert main(["purge", url, "--older-than", "0s", "--status", "cancelled"]) == 0
    assert platform.store.get_isolate("c1") is None and platform.store.get_isolate("c2") is not None


def test_a_url_naming_no_server_is_a_clear_error(capsys):
    assert main(["ls", "postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=2"]) == 2
    err = capsys.readouterr().err
    assert "127.0.0.1:1" in err and "secret" not in err


def test_looking_at_a_schema_with_no_store_creates_nothing(capsys):
    from stores import pg_admin
    schema = new_schema()
    url = PG_URL + ("&" if "?" in PG_URL else "?") + f"schema={schema}"
    for argv in (["ls", url], ["cancel", url, "c"], ["purge", url, "--older-than", "1d"]):
        assert main(argv) == 2, argv
        assert f"no deepslate store in schema {schema!r}" in capsys.readouterr().err
    admin = pg_admin()
    try:
        assert admin.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is None
    finally:
        admin.close()
