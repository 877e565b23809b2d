"""Shared pieces of the reliability suite: a real `videoprism-serve` child process, process probes (RSS,
descriptors, children), load helpers on top of `bench.loadgen`, and where the figures are written.

Durations scale with RELIABILITY_SCALE (default 1: the whole suite in a few minutes; 5: soak-length runs).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.loadgen.clients import HttpClient
from bench.loadgen.machine import machine, write_result
from bench.loadgen.runner import RunResult, closed_loop, open_loop
from bench.loadgen.serve_process import ServerProcess, free_port, videoprism_serve
from bench.loadgen.workloads import text_body

SCALE = float(os.environ.get("RELIABILITY_SCALE", "1"))
TEXT_URL = "/v1/embed/text"
# The server gets one core, the generator the other, so capacity is a property of the server alone.
SERVER_CPUS = {1} if (os.cpu_count() or 1) > 1 else None
CLIENT_CPUS = {0} if (os.cpu_count() or 1) > 1 else None


def scaled(seconds: float) -> float:
    return seconds * SCALE


@dataclass
class Served:
    process: ServerProcess
    http_port: int
    grpc_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.process.pid)


def start_server(
    log_dir: Path, env: dict[str, str] | None = None, *, path_prefix: Path | None = None
) -> Served:
    """A fresh `videoprism-serve` on the demo bundle with small queues, so overload answers 429 quickly.

    `path_prefix` is put first on PATH: that is how the decoder-hang test selects its stand-in ffmpeg
    (the media layer's `ffmpeg="auto"` takes the first `ffmpeg` on PATH; Settings has no ffmpeg field yet).
    """
    http_port, grpc_port = free_port(), free_port()
    values = {
        "VIDEOPRISM_INTRA_OP_THREADS": "1",
        "VIDEOPRISM_CACHE": "none",
        "VIDEOPRISM_TEXT_MAX_QUEUE_SIZE": "64",
        "VIDEOPRISM_VIDEO_MAX_QUEUE_SIZE": "16",
        "VIDEOPRISM_REQUEST_TIMEOUT_S": "10",
        "VIDEOPRISM_DRAIN_TIMEOUT_S": "20",
        **(env or {}),
    }
    if path_prefix is not None:
        values["PATH"] = f"{path_prefix}{os.pathsep}{os.environ.get('PATH', '')}"
    proc = videoprism_serve(
        http_port, grpc_port, cpus=SERVER_CPUS, env=values, log_path=log_dir / "server.log"
    )
    return Served(proc.start(), http_port, grpc_port)


def pin_client() -> None:
    if CLIENT_CPUS:
        os.sched_setaffinity(0, CLIENT_CPUS)


async def text_capacity(url: str, seconds: float = 4.0, concurrency: int = 32) -> float:
    """Successful text answers per second at a saturating closed-loop concurrency."""
    async with HttpClient(url + TEXT_URL, text_body, limit=concurrency) as client:
        result = await closed_loop(client.send, concurrency, seconds, warmup_s=1.0)
    return result.throughput_rps()


async def text_open(
    url: str, rate: float, seconds: float, *, offset: int = 0, limit: int = 2048
) -> RunResult:
    async with HttpClient(
        url + TEXT_URL, lambda i: text_body(i + offset), limit=limit, timeout_s=60
    ) as client:
        return await open_loop(client.send, rate, seconds)


@dataclass
class RssSampler:
    """Samples the server's RSS (and its children's) once per `period_s` on a thread while load runs."""

    process: psutil.Process
    period_s: float = 1.0
    rows: list[dict[str, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        t0 = time.monotonic()

        def loop() -> None:
            while not self._stop.wait(self.period_s):
                try:
                    rss = self.process.memory_info().rss
                    fds = self.process.num_fds()
                except psutil.NoSuchProcess:
                    return
                self.rows.append({"t_s": time.monotonic() - t0, "rss_mib": rss / 2**20, "fds": fds})

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)


def run(coro_fn: Callable[[], Any]) -> Any:
    return asyncio.run(coro_fn())


def record(name: str, payload: dict[str, Any]) -> None:
    """Figures of one reliability test: printed (pytest -s shows them) and kept for the report."""
    payload = {"machine": machine(), "scale": SCALE, **payload}
    path = write_result(f"reliability_{name}", payload)
    print(f"\n[{name}] load average {payload['machine']['loadavg_1_5_15']}; figures in {path}")
