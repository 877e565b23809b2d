"""A served bundle under test: `videoprism-serve` as a child process, its start-to-ready time and peak RSS,
and the latency / throughput of pre-decoded clips over HTTP."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.loadgen.serve_process import ServerProcess, free_port, videoprism_serve
from bench.loadgen.workloads import frames_body


@dataclass(frozen=True)
class ServedFigures:
    start_to_ready_s: float
    latency_best_s: float  # one client, best of `repeats` clips
    latency_median_s: float
    throughput_clips_per_s: float  # `clients` clients, each `rounds` clips back to back
    clients: int
    peak_rss_gib: float  # VmHWM of the server process
    # Bare runs made between the served latency requests (one after each): the latency ratio is taken over
    # these pairs, so a neighbour's load that comes and goes hits both sides alike.
    paired_bare_median_s: float | None = None


def _peak_rss_gib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 2**20, 2)
    return float("nan")


async def _post(client: httpx.AsyncClient, url: str, body: bytes) -> float:
    started = time.perf_counter()
    response = await client.post(url, content=body, headers={"content-type": "application/json"})
    data = response.json()
    if response.status_code != 200 or data["data"][0].get("error"):
        raise RuntimeError(f"served request failed: {response.status_code} {response.text[:300]}")
    return time.perf_counter() - started


async def _drive(
    url: str, num_frames: int, size: int, repeats: int, clients: int, rounds: int,
    paired: Callable[[int], float] | None,
) -> tuple[list[float], list[float], float]:  # fmt: skip
    bodies = [frames_body(i, num_frames, size) for i in range(max(repeats, clients) + 1)]
    async with httpx.AsyncClient(timeout=httpx.Timeout(1800.0)) as client:
        await _post(client, url, bodies[-1])  # the first real request of the largest-but-one path
        latencies, bare = [], []
        for i in range(repeats):
            latencies.append(await _post(client, url, bodies[i]))
            if paired is not None:
                bare.append(await asyncio.to_thread(paired, i))

        async def one_client(index: int) -> None:
            for _ in range(rounds):
                await _post(client, url, bodies[index])

        started = time.perf_counter()
        await asyncio.gather(*(one_client(i) for i in range(clients)))
        throughput = clients * rounds / (time.perf_counter() - started)
    return latencies, bare, throughput


def serve_and_measure(
    bundle: Path, log: Path, *, num_frames: int, size: int, repeats: int, clients: int, rounds: int,
    env: dict[str, str] | None = None, paired: Callable[[int], float] | None = None,
) -> ServedFigures:  # fmt: skip
    """`paired(i)`, when given, runs clip `i` bare and returns its seconds; it is called after each served
    latency request."""
    port = free_port()
    values = {"VIDEOPRISM_BUNDLE": str(bundle), "VIDEOPRISM_CACHE": "none",
              "VIDEOPRISM_VIDEO_MAX_BATCH_SIZE": "8", **(env or {})}  # fmt: skip
    server: ServerProcess = videoprism_serve(port, free_port(), cpus=None, env=values, log_path=log)
    started = time.perf_counter()
    server.start(timeout_s=1200)
    ready_s = time.perf_counter() - started
    try:
        latencies, bare, throughput = asyncio.run(
            _drive(
                f"http://127.0.0.1:{port}/v1/embed/video", num_frames, size, repeats, clients, rounds, paired
            )
        )
        peak = _peak_rss_gib(server.pid)
    finally:
        server.stop()
    return ServedFigures(
        round(ready_s, 1), min(latencies), statistics.median(latencies), throughput, clients, peak,
        statistics.median(bare) if bare else None,
    )  # fmt: skip
