"""Tracing cost on the text path: request latency with tracing off, on (every request sampled and exported
over OTLP/HTTP to a collector on loopback), and on with the sampler dropping every trace.

    .venv/bin/python -m bench.tracing [--requests 300] [--rounds 6]

Three `videoprism-serve` processes on the demo bundle, pinned to the same cores, cache off, each sent the
same sequence of one-text requests (distinct texts, one client, keep-alive, every request carrying a
sampled `traceparent`). The configurations take turns in rounds so a change of background load hits all
three. Prints the latency percentiles per configuration and the on/off ratios, the CPU model and flags, how
many spans the collector received, and the per-call cost of the span helpers with tracing off; writes
bench/results/tracing.json.
"""

from __future__ import annotations

import argparse
import http.server
import os
import secrets
import statistics
import tempfile
import threading
import time
import timeit
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench.loadgen.machine import machine, machine_line, write_result
from bench.loadgen.serve_process import ServerProcess, free_port, videoprism_serve
from service.tracing import recording, span

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "service" / "demo_bundle"


class SpanCounter:
    """An OTLP/HTTP receiver on loopback that only counts the spans it is sent."""

    def __init__(self) -> None:
        self.spans = 0
        lock = threading.Lock()
        counter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                count = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
                with lock:
                    counter.spans += count
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()


@dataclass
class Config:
    name: str
    env: dict[str, str]
    latencies_ms: list[float] = field(default_factory=list)
    server: ServerProcess | None = None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_round(config: Config, requests: int, round_no: int) -> None:
    assert config.server is not None
    url = config.server.ready_url.replace("/readyz", "/v1/embed/text")
    with httpx.Client(timeout=30.0) as client:
        client.post(url, json={"texts": ["warm the connection"]})
        for i in range(requests):
            headers = {"traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"}
            body = {"texts": [f"a person rides a bike, take {round_no}.{i}"]}
            started = time.perf_counter()
            response = client.post(url, json=body, headers=headers)
            config.latencies_ms.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200 or response.json()["data"][0].get("error"):
                raise RuntimeError(f"{config.name}: {response.status_code} {response.text[:200]}")


def summary(config: Config) -> dict[str, float]:
    values = config.latencies_ms
    return {
        "requests": len(values),
        "mean_ms": round(statistics.fmean(values), 3),
        "p50_ms": round(percentile(values, 0.50), 3),
        "p90_ms": round(percentile(values, 0.90), 3),
        "p99_ms": round(percentile(values, 0.99), 3),
    }


def helper_cost_ns(calls: int = 200_000) -> dict[str, float]:
    """What the span helpers cost per call in this (untraced) process: the price every request pays for
    them when tracing is off (a video request makes about eight such calls)."""

    def opened() -> None:
        with span("decode", **{"video.segments": 1}):
            pass

    out = {}
    for name, call in (("span", opened), ("recording", recording)):
        seconds = min(timeit.repeat(call, number=calls, repeat=5))
        out[f"{name}_off_ns_per_call"] = round(seconds / calls * 1e9, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300, help="requests per configuration per round")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds")
    args = parser.parse_args()

    collector = SpanCounter()
    common = {
        "VIDEOPRISM_BUNDLE": str(BUNDLE),
        "VIDEOPRISM_CACHE": "none",
        "VIDEOPRISM_INTRA_OP_THREADS": "1",
    }
    # The inherited environment must not switch the "off" server on.
    cleared = {name: "" for name in os.environ if name.startswith("OTEL_")}
    traced = {
        **cleared,
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
        "OTEL_SERVICE_NAME": "bench-tracing",
    }
    configs = [
        Config("off", {**common, **cleared}),
        Config("on", {**common, **traced}),
        Config("on_sampled_out", {**common, **traced, "OTEL_TRACES_SAMPLER": "always_off"}),
    ]
    cpus = set(sorted(os.sched_getaffinity(0))[:1])
    info = machine()
    flags = info["cpu_flags"]
    print(machine_line(info))
    print(f"cpu flags: {' '.join(flags)}; servers pinned to cpu {sorted(cpus)}")
    logs = Path(tempfile.mkdtemp(prefix="vp-bench-tracing-"))
    try:
        for config in configs:
            config.server = videoprism_serve(
                free_port(), free_port(), cpus=cpus, env=config.env, log_path=logs / f"{config.name}.log"
            ).start()
        for round_no in range(args.rounds):
            for config in configs:
                run_round(config, args.requests, round_no)
        time.sleep(6.0)  # the batch span processor exports every 5 s
    finally:
        for config in configs:
            if config.server is not None:
                config.server.stop()
        collector.close()

    results: dict[str, Any] = {config.name: summary(config) for config in configs}
    off = results["off"]
    for name in ("on", "on_sampled_out"):
        results[name]["p50_ratio_to_off"] = round(results[name]["p50_ms"] / off["p50_ms"], 3)
        results[name]["mean_ratio_to_off"] = round(results[name]["mean_ms"] / off["mean_ms"], 3)
    for name, figures in results.items():
        print(f"{name:>15}: " + ", ".join(f"{key} {value}" for key, value in figures.items()))
    print(f"spans received by the collector: {collector.spans}")
    helpers = helper_cost_ns()
    print("span helpers with tracing off: " + ", ".join(f"{k} {v}" for k, v in helpers.items()))
    payload = {
        "machine": info,
        "cpu_flags": flags,
        "pinned_cpus": sorted(cpus),
        "requests_per_round": args.requests,
        "rounds": args.rounds,
        "spans_received": collector.spans,
        "helpers_off": helpers,
        "results": results,
    }
    print(f"wrote {write_result('tracing', payload)}")


if __name__ == "__main__":
    main()
