"""The posting side of ingress_table.py's open-loop latency run, in its own process so that it
takes no CPU time from the engine's: posts ``rate`` messages a second, round robin over
``isolates`` listeners, for ``seconds``, each sent at its planned time whether or not the
ones before were answered; prints one JSON list of [body, time sent, status]. Times are
time.perf_counter(), which is CLOCK_MONOTONIC on Linux: the same clock in both processes."""
import asyncio
import json
import sys
import time

import aiohttp


async def main(url: str, isolates: int, rate: float, seconds: float) -> None:
    sent: list[list] = []
    n_total = int(rate * seconds)

    async def post(s: aiohttp.ClientSession, n: int) -> None:
        body = b"o%d" % n
        t = time.perf_counter()
        async with s.post(f"{url}/i{n % isolates}/in", data=body) as r:
            sent.append([body.decode(), t, r.status])

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
        start = time.perf_counter()
        tasks = []
        for n in range(n_total):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(s, n)))
        await asyncio.gather(*tasks)
    json.dump(sent, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])))
