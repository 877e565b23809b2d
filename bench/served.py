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
    # Throughput in rounds (each client one clip) with a bare block before, between and after them: each
    # round's served clips/s over the mean of the bare blocks around it, so drift hits both sides alike.
    paired_throughput_ratios: tuple[float, ...] = ()
    paired_bare_clips_per_s: tuple[float, ...] = ()

    @property
    def paired_throughput_ratio(self) -> float | None:
        return statistics.median(self.paired_throughput_ratios) if self.paired_throughput_ratios else None


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


@dataclass
class _Throughput:
    clips_per_s: float
    ratios: list[float]
    bare: list[float]


async def _drive(
    url: str, num_frames: int, size: int, repeats: int, clients: int, rounds: int,
    paired: Callable[[int], float] | None, bare_block: Callable[[], float] | None,
) -> tuple[list[float], list[float], _Throughput]:  # fmt: skip
    bodies = [frames_body(i, num_frames, size) for i in range(max(repeats, clients) + 1)]
    async with httpx.AsyncClient(timeout=httpx.Timeout(1800.0)) as client:
        await _post(client, url, bodies[-1])  # the first real request of the largest-but-one path
        latencies, bare = [], []
        for i in range(repeats):
            latencies.append(await _post(client, url, bodies[i]))
            if paired is not None:
                bare.append(await asyncio.to_thread(paired, i))

        async def one_client(index: int, clips: int) -> None:
            for _ in range(clips):
                await _post(client, url, bodies[index])

        if bare_block is None:
            started = time.perf_counter()
            await asyncio.gather(*(one_client(i, rounds) for i in range(clients)))
            return latencies, bare, _Throughput(clients * rounds / (time.perf_counter() - started), [], [])
        blocks = [await asyncio.to_thread(bare_block)]
        served_s, ratios = 0.0, []
        for _ in range(rounds):
            started = time.perf_counter()
            await asyncio.gather(*(one_client(i, 1) for i in range(clients)))
            seconds = time.perf_counter() - started
            served_s += seconds
            blocks.append(await asyncio.to_thread(bare_block))
            ratios.append(clients / seconds / statistics.mean(blocks[-2:]))
    return latencies, bare, _Throughput(clients * rounds / served_s, ratios, blocks)


def serve_and_measure(
    bundle: Path, log: Path, *, num_frames: int, size: int, repeats: int, clients: int, rounds: int,
    env: dict[str, str] | None = None, paired: Callable[[int], float] | None = None,
    bare_block: Callable[[], float] | None = None,
) -> ServedFigures:  # fmt: skip
    """`paired(i)`, when given, runs clip `i` bare and returns its seconds; it is called after each served
    latency request. `bare_block()`, when given, runs a block of clips bare and returns its clips/s; the
    throughput is then measured in `rounds` rounds of one clip per client with a bare block around each."""
    port = free_port()
    values = {"VIDEOPRISM_BUNDLE": str(bundle), "VIDEOPRISM_CACHE": "none",
              "VIDEOPRISM_VIDEO_MAX_BATCH_SIZE": "8", **(env or {})}  # fmt: skip
    server: ServerProcess = videoprism_serve(port, free_port(), cpus=None, env=values, log_path=log)
    started = time.perf_counter()
    server.start(timeout_s=1200)
    ready_s = time.perf_counter() - started
    try:
        url = f"http://127.0.0.1:{port}/v1/embed/video"
        latencies, bare, throughput = asyncio.run(
            _drive(url, num_frames, size, repeats, clients, rounds, paired, bare_block)
        )
        peak = _peak_rss_gib(server.pid)
    finally:
        server.stop()
    return ServedFigures(
        round(ready_s, 1), min(latencies), statistics.median(latencies), throughput.clips_per_s, clients, peak,
        statistics.median(bare) if bare else None, tuple(throughput.ratios), tuple(throughput.bare),
    )  # fmt: skip
