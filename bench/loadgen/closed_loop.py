"""A closed-loop load generator: N clients, each sending its next request when the last one returned."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def closed_loop(
    call: Callable[[int], Awaitable[None]], concurrency: int, warm: float, seconds: float
) -> list[float]:
    """Latencies of the requests that complete within [warm, warm + seconds] of `concurrency` clients
    each sending the next request when the last returned. Counting completions in a window (instead of
    draining every started request) keeps a slow engine's tail out of the figure; the clients still
    waiting at the end are cancelled, which removes their work from the queue."""
    latencies: list[float] = []
    window_start = time.perf_counter() + warm
    window_end = window_start + seconds
    counter = iter(range(10**9))

    async def client() -> None:
        while True:
            begun = time.perf_counter()
            await call(next(counter))
            ended = time.perf_counter()
            if window_start <= ended <= window_end:
                latencies.append(ended - begun)

    clients = [asyncio.ensure_future(client()) for _ in range(concurrency)]
    await asyncio.sleep(window_end - time.perf_counter())
    for task in clients:
        task.cancel()
    await asyncio.gather(*clients, return_exceptions=True)
    return latencies
