"""The original deepslate README's counter server, on the embedded SQLite store.

The same program as ``server.py`` (the README's, on PostgreSQL) with ``new_sqlite`` in place
of ``new_postgres``. Run it, spawn a counter, open the inspector, stop it with Ctrl+C (or kill
it), run it again, and ``count`` continues where it stopped:

    python server_sqlite.py
    curl -X POST http://localhost:8000/counter/my-counter
    # the dashboard: http://localhost:8080/#/isolates/my-counter

COUNTER_DB, COUNTER_INGRESS and COUNTER_INSPECTOR override the store file and the two
addresses (the tests run it on free ports).
"""
import os

import uvicorn
from fastapi import FastAPI

from deepslate import flow, new_sqlite, sleep, spawn_inspector, spawn_workers

DBPATH = os.environ.get("COUNTER_DB", "counter.db")


# durable flow that counts up forever, one tick per second,
# can survive crashes and restarts
@flow
async def counter():
    count: int = 0
    while True:
        sleep(1.0)
        count = count + 1


def create_app() -> FastAPI:
    # open the SQLite store and start deepslate
    platform, _ = new_sqlite(DBPATH, os.environ.get("COUNTER_INGRESS", "localhost:8765"))
    spawn_fn, _, _, _ = spawn_workers(4, platform, [counter()])
    spawn_inspector(platform, os.environ.get("COUNTER_INSPECTOR", "localhost:8080"))

    app = FastAPI()
    app.state.spawn = spawn_fn

    # spawn a new durable counter flow with the given name
    @app.post("/counter/{name}")
    def spawn_counter(name: str):
        id_, exists = app.state.spawn(name, "counter", {})
        return {"id": id_, "exists": exists}

    return app


app = create_app()

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=8000, workers=1)
