"""Drive one server from the command line and print throughput and latency percentiles.

python -m bench.loadgen --target http://127.0.0.1:8000 --kind text --closed 1,8,32 --seconds 10
python -m bench.loadgen --target 127.0.0.1:50051 --kind grpc-text --open 100,200 --seconds 10
python -m bench.loadgen --target http://127.0.0.1:8000 --kind frames --closed 8   # pre-decoded frames
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bench.loadgen.clients import GrpcTextClient, HttpClient
from bench.loadgen.machine import machine, machine_line
from bench.loadgen.runner import RunResult, Send, closed_loop, open_loop
from bench.loadgen.workloads import frames_body, text_body

PATHS = {"text": "/v1/embed/text", "frames": "/v1/embed/video"}


@asynccontextmanager
async def sender(target: str, kind: str, limit: int) -> AsyncIterator[Send]:
    if kind == "grpc-text":
        async with GrpcTextClient(target) as grpc_client:
            yield grpc_client.send
        return
    body = text_body if kind == "text" else frames_body
    async with HttpClient(target.rstrip("/") + PATHS[kind], body, limit=limit) as c:
        yield c.send


async def run(args: argparse.Namespace) -> list[RunResult]:
    results = []
    closed = [int(x) for x in args.closed.split(",") if x] if args.closed else []
    rates = [float(x) for x in args.open.split(",") if x] if args.open else []
    async with sender(args.target, args.kind, max([*closed, 1024])) as send:
        for concurrency in closed:
            results.append(await closed_loop(send, concurrency, args.seconds, warmup_s=args.warmup))
        for rate in rates:
            results.append(await open_loop(send, rate, args.seconds))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", required=True, help="http://host:port, or host:port for grpc-text")
    parser.add_argument("--kind", choices=["text", "frames", "grpc-text"], default="text")
    parser.add_argument("--closed", default="", help="comma-separated concurrencies")
    parser.add_argument("--open", default="", help="comma-separated arrival rates (requests/s)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args()
    print(machine_line())
    rows = [r.to_json() for r in asyncio.run(run(args))]
    for row in rows:
        load = row["concurrency"] if row["mode"] == "closed" else f"{row['offered_rps']}/s"
        print(
            f"{args.kind:9s} {row['mode']:6s} load={load!s:>7s}  {row['throughput_rps']:8.1f} ok/s  "
            f"p50 {row['p50_ms']:7.2f}  p95 {row['p95_ms']:7.2f}  p99 {row['p99_ms']:7.2f} ms  {row['outcomes']}"
        )
    if args.json:
        print(json.dumps({"machine": machine(), "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
