import uvicorn
from fastapi import FastAPI
from deepslate import flow, sleep, new_postgres, spawn_workers, spawn_inspector

DBURL = "postgres://postgres:postgres@localhost:5432/postgres?sslmode=disable"


# durable flow that counts up forever, one tick per second,
# can survive crashes and restarts
@flow
async def counter():
    count: int = 0
    while True:
        sleep(1.0)
        count = count + 1


def create_app() -> FastAPI:
    # connect to postgres and start deepslate
    platform, _ = new_postgres(1, DBURL, "localhost:8765", 100, 100, 5)
    spawn_fn, _, _, _ = spawn_workers(4, platform, [counter()])
    spawn_inspector(platform, "localhost:8080")

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
    uvicorn.run(app, host="0.0.0.0", port=8000, workers=1)
