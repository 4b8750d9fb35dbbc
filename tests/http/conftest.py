"""An engine serving its HTTP ingress on 127.0.0.1 (port 0), over a real store: an SQLite file
or a PostgreSQL schema (``store_kind``: every test using ``serve`` runs on both)."""
import os
import sys

import aiohttp
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


class Served:
    def __init__(self, engine, store):
        self.engine = engine
        self.store = store          # tests/stores.py StoreUnderTest
        self.url = engine.ingress_url

    def sql(self, query, args=()):
        """``query`` on another connection (it sees what is committed only)."""
        return self.store.sql(query, args)

    def rows(self, table="inbox"):
        """Rows in ``table`` as another connection sees them (committed only)."""
        return self.sql(f"SELECT count(*) FROM {table}")[0][0]


@pytest.fixture
async def serve(store_kind, tmp_path):
    """serve(flows, **ingress settings) -> Served; stopped at teardown."""
    from deepslate import Engine, Ingress
    from stores import StoreUnderTest
    made, stores = [], []

    async def start(flows, workers=2, **settings):
        where = StoreUnderTest(store_kind, tmp_path, f"s{len(made)}")
        stores.append(where)
        eng = await Engine(where.open(), flows, workers, listen_addr="127.0.0.1:0",
                           ingress=Ingress(**settings)).start()
        made.append(eng)
        return Served(eng, where)
    yield start
    for eng in made:
        await eng.stop()
        eng.store.close()
    for where in stores:
        where.close()


@pytest.fixture
async def client():
    async with aiohttp.ClientSession() as s:
        yield s
