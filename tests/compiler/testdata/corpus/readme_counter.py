# The README's counter flow, and a bounded variant that returns its count.
# run: bounded(limit=12)
# expect: 12
from deepslate import flow, sleep


@flow
async def counter():
    count: int = 0
    while True:
        sleep(1.0)
        count = count + 1


@flow
async def bounded(limit: int) -> int:
    count: int = 0
    while True:
        sleep(1.0)
        count = count + 1
        if count == limit:
            return count
