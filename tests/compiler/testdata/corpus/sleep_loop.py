# sleep as a durable point inside loops and branches; state around many durable points.
from deepslate import flow, sleep


# run: main(n=5)
# expect: [0, 1, 3, 6, 10]
# trace: sleep sleep sleep sleep sleep sleep
@flow
async def main(n: int) -> list[int]:
    out: list[int] = []
    total: int = 0
    sleep(0.0)
    for i in range(n):
        total = total + i
        sleep(0.5)
        out.append(total)
    return out


# run: counter(limit=20)
# expect: 20
@flow
async def counter(limit: int) -> int:
    count: int = 0
    while True:
        sleep(1.0)
        count = count + 1
        if count >= limit:
            break
    return count


# run: backoff(tries=6)
# expect: 'waited 63.0s over 6 sleeps'
@flow
async def backoff(tries: int) -> str:
    delay: float = 1.0
    waited: float = 0.0
    n: int = 0
    while n < tries:
        sleep(delay)
        waited = waited + delay
        delay = delay * 2
        n = n + 1
    return f"waited {waited}s over {n} sleeps"
