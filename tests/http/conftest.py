"""An engine serving its HTTP ingress on 127.0.0.1 (port 0), over a real SQLite file."""
import os
import sqlite3
import sys

import aiohttp
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


class Served:
    def __init__(self, engine, path):
        self.engine = engine
        self.path = path
        self.url = engine.ingress_url

    def rows(self, table="inbox"):
        """Rows in ``table`` as another connection sees them (committed only)."""
        db = sqlite3.connect(self.path)
        try:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        finally:
            db.close()


@pytest.fixture
async def serve(tmp_path):
    """serve(flows, **ingress settings) -> Served; stopped at teardown."""
    from deepslate import Engine, Ingress
    from deepslate.store import SQLiteStore
    made = []

    async def start(flows, workers=2, **settings):
        path = str(tmp_path / f"s{len(made)}.db")
        store = SQLiteStore(path)
        eng = await Engine(store, flows, workers, listen_addr="127.0.0.1:0", ingress=Ingress(**settings)).start()
        made.append(eng)
        return Served(eng, path)
    yield start
    for eng in made:
        await eng.stop()
        eng.store.close()


@pytest.fixture
async def client():
    async with aiohttp.ClientSession() as s:
        yield s
