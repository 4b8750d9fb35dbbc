from deepslate import flow, now, random, sleep, uuid4


@flow
async def drawn(pause: float) -> list[str]:
    t: float = now()
    r: float = random()
    u: str = uuid4()
    print(f"{t} {r} {u}")
    sleep(pause)
    later: float = now()
    return [str(t), str(r), u, str(later >= t)]


@flow
async def draws(n: int) -> int:
    seen: dict[str, int] = {}
    for i in range(n):
        seen[uuid4()] = i
    return len(seen)
