"""The full-size row of `bench/compare_peers.py`: one full-size bundle (video only) behind this service, LitServe
and Ray Serve, every server on every core, pre-decoded clips of the bundle's shape at 1 and 4 clients."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.loadgen.clients import HttpClient
from bench.loadgen.machine import machine, machine_line, write_result
from bench.loadgen.runner import closed_loop
from bench.loadgen.serve_process import ServerProcess, free_port, videoprism_serve
from bench.loadgen.workloads import frames_body

CLIENTS = (1, 4)
MAX_BATCH, DELAY_MS = 8, 5.0


def _start(name: str, bundle: Path, log: Path) -> tuple[ServerProcess, str]:
    port = free_port()
    if name == "videoprism":
        env = {"VIDEOPRISM_BUNDLE": str(bundle), "VIDEOPRISM_CACHE": "none",
               "VIDEOPRISM_VIDEO_MAX_BATCH_SIZE": str(MAX_BATCH), "VIDEOPRISM_VIDEO_MAX_QUEUE_DELAY_MS": str(DELAY_MS)}  # fmt: skip
        server = videoprism_serve(port, free_port(), cpus=None, env=env, log_path=log)
        return server.start(timeout_s=900), f"http://127.0.0.1:{port}"
    cores = str(len(os.sched_getaffinity(0)))
    env = {"PEER_PORT": str(port), "PEER_BUNDLE": str(bundle), "PEER_INTRA_OP_THREADS": cores,
           "PEER_MAX_BATCH_VIDEO": str(MAX_BATCH), "PEER_BATCH_WAIT_VIDEO_MS": str(DELAY_MS),
           "PEER_MAX_BATCH_TEXT": "1", "PEER_BATCH_WAIT_TEXT_MS": "1", "RAY_USAGE_STATS_ENABLED": "0"}  # fmt: skip
    module = {"ray_serve": "bench.peers.ray_serve", "litserve": "bench.peers.lit_serve"}[name]
    server = ServerProcess([sys.executable, "-m", module], env=env, cpus=None,
                           ready_url=f"http://127.0.0.1:{port}/readyz", log_path=log)  # fmt: skip
    return server.start(timeout_s=900), f"http://127.0.0.1:{port}"


async def _drive(url: str, t: int, s: int, seconds: float) -> list[dict[str, Any]]:
    rows = []
    async with HttpClient(url + "/v1/embed/video", lambda i: frames_body(i, t, s), limit=16) as client:
        await client.send(10**6)  # the first request pays allocations in every server alike
        for clients in CLIENTS:
            result = await closed_loop(client.send, clients, seconds, warmup_s=0.0)
            rows.append(result.to_json())
    return rows


def clips_per_s(row: dict[str, Any]) -> float:
    """Clients / mean latency (Little's law for a closed loop). At 6 s a clip a 60 s window completes only
    about ten requests, so counting completions in the window moves in steps of 0.017 clips/s, more than the
    differences between servers; the mean latency of those requests resolves them."""
    return float(row["concurrency"] / (row["mean_ms"] / 1000))


def run_full_size(bundle: Path, names: list[str], seconds: float) -> dict[str, Any]:
    manifest = json.loads((bundle / "manifest.json").read_text())
    t, s = manifest["video"]["num_frames"], manifest["video"]["image_size"]
    print(machine_line())
    print(
        f"full-size row: {manifest['model_name']} {manifest['precision']} ({t} x {s} x {s}), every core per server"
    )
    table: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="peers-full-") as tmp:
        for name in names:
            server, url = _start(name, bundle, Path(tmp) / f"{name}.log")
            try:
                table[name] = asyncio.run(_drive(url, t, s, seconds))
            finally:
                server.stop()
            for row in table[name]:
                row["clips_per_s"] = clips_per_s(row)
                print(f"  {name:10s} c={row['concurrency']} {row['clips_per_s']:.4f} clips/s (clients / mean "
                      f"latency; {row['throughput_rps']:.3f} counted in the window) p50 {row['p50_ms'] / 1000:.2f} s "
                      f"{row['outcomes']}", flush=True)  # fmt: skip
    verdict: dict[str, Any] = {}
    peers = [n for n in table if n != "videoprism"]
    if "videoprism" in table and peers:
        ours = {r["concurrency"]: r for r in table["videoprism"]}
        best_rps = max(r["clips_per_s"] for n in peers for r in table[n] if r["concurrency"] == max(CLIENTS))
        best_p50 = min(r["p50_ms"] for n in peers for r in table[n] if r["concurrency"] == 1)
        verdict = {"throughput_ratio": ours[max(CLIENTS)]["clips_per_s"] / best_rps,
                   "latency_ratio": ours[1]["p50_ms"] / best_p50}  # fmt: skip
        verdict["goal_met"] = verdict["throughput_ratio"] >= 1.0 and verdict["latency_ratio"] <= 1.05
        print(f"ours / best peer: throughput at {max(CLIENTS)} clients {verdict['throughput_ratio']:.2f}x (goal >= 1.0), "
              f"latency at 1 client {verdict['latency_ratio']:.2f}x (goal <= 1.05)")  # fmt: skip
    payload = {
        "machine": machine(),
        "bundle": str(bundle),
        "seconds": seconds,
        "rows": table,
        "verdict": verdict,
    }
    print(f"wrote {write_result('compare_peers_full_size', payload)}")
    return payload
