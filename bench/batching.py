"""Dynamic batching benchmark: throughput and p50/p99 latency of the inference core at several
concurrencies, dynamic batching vs `max_batch_size=1`, and served throughput as a fraction of a bare
session running batches of `max_batch_size` in a loop with nothing around it.

Goals: dynamic batching >= 2x the unbatched throughput at concurrency 32; serving overhead <= 10 % of
the bare session's throughput (served / bare >= 0.9 at the highest concurrency).

The machine may be shared, so the variants are interleaved (every repetition runs each concurrency in
both modes; the bare session runs right after the highest-concurrency dynamic cell it is compared with)
and the ratios are taken within a repetition, then the median. The bare session at batch 1 is reported
too: bare(max batch) / bare(1) is what batching can gain at most on this engine.

    .venv/bin/python -m bench.batching [--bundle service/demo_bundle] [--reps 3] [--kinds text video]
        [--workers 2 --intra-op-threads 1]

`--workers N` serves with N batches running at once (the service's VIDEOPRISM_{TEXT,VIDEO}_WORKERS), both
modes alike. The bare figure is the better of one loop on a session with onnxruntime's default threads
(the whole machine) and one loop per core on a one-thread session (both are in the JSON), whatever the
served configuration: the strongest engine-only figure to compare with.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from bench.bare_engine import BareSessions, bare_feeds, clips, texts
from bench.loadgen.closed_loop import closed_loop
from bench.loadgen.machine import machine
from service.core import BatcherSettings, CoreSettings, DecodedFrames, InferenceCore, RuntimeSettings
from service.core.metrics import NullMetrics
from videoprism_bundle.loader import Bundle, load_bundle

CONCURRENCIES = (1, 8, 32, 128)
DEFAULT_BUNDLE = Path(__file__).resolve().parent.parent / "service" / "demo_bundle"


@dataclass(frozen=True)
class Cell:
    kind: str
    mode: str  # "dynamic" | "batch1"
    concurrency: int
    rep: int
    requests: int
    throughput_rps: float
    p50_ms: float
    p99_ms: float
    mean_batch: float
    load1: float


class BatchRecorder(NullMetrics):
    """Counts the batches the core runs, to report the batch size dynamic batching actually reached."""

    def __init__(self) -> None:
        self.batches = 0
        self.items = 0

    def batch_ran(self, kind: str, size: int, cost: int, seconds: float) -> None:
        self.batches += 1
        self.items += size


class Served:
    """One started core (dynamic or batch-1) and the call the load generator makes."""

    def __init__(self, bundle: Bundle, kind: str, batcher: BatcherSettings, runtime: RuntimeSettings) -> None:
        self.kind = kind
        self.recorder = BatchRecorder()
        # The other kind's batcher stays at batch 1 so its warm-up (every batch size) costs nothing.
        idle = BatcherSettings(max_batch_size=1)
        settings = CoreSettings(
            video_batcher=batcher if kind == "video" else idle,
            text_batcher=batcher if kind == "text" else idle,
            runtime=runtime,
        )
        # No cache: every request must reach the engine.
        self.core = InferenceCore.create(settings, bundle, metrics=self.recorder)
        self._texts = texts(100_000)
        self._clips = clips(bundle, 256)

    async def call(self, i: int) -> None:
        if self.kind == "text":
            (result,) = await self.core.embed_texts([self._texts[i % len(self._texts)]])
            error = result.error
        else:
            error = (await self.core.embed_video(DecodedFrames(self._clips[i % len(self._clips)]))).error
        if error is not None:
            raise RuntimeError(f"benchmark request failed: {error.code}: {error.message}")

    async def cell(self, mode: str, concurrency: int, rep: int, warm: float, seconds: float) -> Cell:
        batches, items = self.recorder.batches, self.recorder.items
        latencies = await closed_loop(self.call, concurrency, warm, seconds)
        done, elapsed = len(latencies), seconds
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else (latencies or [np.nan]) * 99
        mean_batch = (self.recorder.items - items) / max(1, self.recorder.batches - batches)
        load1 = os.getloadavg()[0]
        return Cell(
            self.kind,
            mode,
            concurrency,
            rep,
            done,
            done / elapsed,
            q[49] * 1e3,
            q[98] * 1e3,
            mean_batch,
            load1,
        )


async def bench_kind(
    bundle: Bundle,
    kind: str,
    max_batch: int,
    warm: float,
    seconds: float,
    reps: int,
    runtime: RuntimeSettings,
    workers: int,
) -> tuple[list[Cell], dict[str, object]]:
    base = BatcherSettings(max_queue_size=4096, workers=workers, max_batches_in_flight=workers + 1)
    dynamic_settings = dataclasses.replace(base, max_batch_size=max_batch, max_queue_delay_ms=2.0)
    single_settings = dataclasses.replace(base, max_batch_size=1, max_queue_delay_ms=0.0)
    served = {
        "dynamic": Served(bundle, kind, dynamic_settings, runtime),
        "batch1": Served(bundle, kind, single_settings, runtime),
    }
    for variant in served.values():
        await variant.core.start()
    sessions = BareSessions.create(bundle, kind)
    feeds = {1: bare_feeds(bundle, kind, 1), max_batch: bare_feeds(bundle, kind, max_batch)}
    top = max(CONCURRENCIES)
    cells: list[Cell] = []
    bare: dict[int, list[float]] = {1: [], max_batch: []}
    bare_variants: list[dict[str, float]] = []
    for rep in range(reps):
        for concurrency in CONCURRENCIES:
            for mode, variant in served.items():
                cell = await variant.cell(mode, concurrency, rep, warm, seconds)
                cells.append(cell)
                print(
                    f"{kind:5s} rep {rep} {mode:7s} c={concurrency:<4d} {cell.throughput_rps:8.1f} req/s  "
                    f"p50 {cell.p50_ms:8.2f} ms  p99 {cell.p99_ms:8.2f} ms  batch {cell.mean_batch:5.1f}  "
                    f"load {cell.load1:.1f}",
                    flush=True,
                )
                if mode == "dynamic" and concurrency == top:
                    # Right after the cell it is compared with: on a shared machine the speed drifts over
                    # the tens of seconds a repetition takes.
                    variants = sessions.throughput(feeds[max_batch], seconds)
                    bare_variants.append(variants)
                    bare[max_batch].append(max(variants.values()))
        bare[1].append(max(sessions.throughput(feeds[1], seconds).values()))
        print(
            f"{kind:5s} rep {rep} bare b=1 {bare[1][-1]:.1f}, b={max_batch} {bare[max_batch][-1]:.1f} items/s "
            f"({', '.join(f'{k} {v:.1f}' for k, v in bare_variants[-1].items())})"
        )
    for variant in served.values():
        await variant.core.drain(5)

    def rps(mode: str, concurrency: int, rep: int) -> float:
        return next(
            c.throughput_rps for c in cells if (c.mode, c.concurrency, c.rep) == (mode, concurrency, rep)
        )

    summary: dict[str, object] = {
        "bare_items_per_s_batch1": statistics.median(bare[1]),
        "bare_items_per_s_max_batch": statistics.median(bare[max_batch]),
        "engine_batch_gain": statistics.median(bare[max_batch][r] / bare[1][r] for r in range(reps)),
        "speedup_at_c32": statistics.median(
            rps("dynamic", 32, r) / rps("batch1", 32, r) for r in range(reps)
        ),
        "served_fraction_of_bare": statistics.median(
            rps("dynamic", top, r) / bare[max_batch][r] for r in range(reps)
        ),
        "bare_variants_max_batch": {
            name: statistics.median(v[name] for v in bare_variants) for name in bare_variants[0]
        },
    }
    return cells, summary


def table(cells: list[Cell]) -> list[dict[str, object]]:
    """Per (kind, mode, concurrency): median throughput over repetitions, latency quantiles' medians."""
    rows = []
    keys = sorted(
        {(c.kind, c.mode, c.concurrency) for c in cells}, key=lambda k: (k[0], k[1] != "dynamic", k[2])
    )
    for kind, mode, concurrency in keys:
        group = [c for c in cells if (c.kind, c.mode, c.concurrency) == (kind, mode, concurrency)]
        rows.append(
            {
                "kind": kind,
                "mode": mode,
                "concurrency": concurrency,
                "throughput_rps": statistics.median(c.throughput_rps for c in group),
                "p50_ms": statistics.median(c.p50_ms for c in group),
                "p99_ms": statistics.median(c.p99_ms for c in group),
                "mean_batch": statistics.median(c.mean_batch for c in group),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help="bundle directory")
    parser.add_argument(
        "--seconds", type=float, default=None, help="measurement window per cell (default: text 1, video 4)"
    )
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions (ratios: median)")
    parser.add_argument(
        "--max-batch-size",
        type=int,
        default=None,
        help="dynamic batching cap and bare batch size (default: the service's, text 32, video 8)",
    )
    parser.add_argument(
        "--intra-op-threads", type=int, default=0, help="served sessions; 0: onnxruntime's default"
    )
    parser.add_argument("--workers", type=int, default=1, help="batches running at once per kind (served)")
    parser.add_argument("--kinds", nargs="+", default=["text", "video"], choices=["text", "video"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "batching.json")
    args = parser.parse_args()

    bundle = load_bundle(args.bundle)
    runtime = RuntimeSettings(device="cpu", intra_op_threads=args.intra_op_threads)
    info = machine(onnxruntime=ort.__version__)
    load_before = os.getloadavg()
    print(
        f"machine: {info['cpu_model']}, {info['cores']} cores, load {load_before[0]:.1f}/{load_before[1]:.1f}"
        f"/{load_before[2]:.1f}; bundle {bundle.manifest.model_name} {bundle.bundle_id}"
    )
    cells: list[Cell] = []
    summary: dict[str, dict[str, object]] = {}
    max_batch: dict[str, int] = {}
    for kind in args.kinds:
        # A video batch takes a second or more on a small CPU: its cells need a longer warm-up and window.
        warm, seconds = (0.3, args.seconds or 1.0) if kind == "text" else (1.5, args.seconds or 4.0)
        defaults = CoreSettings()
        default_batch = (defaults.text_batcher if kind == "text" else defaults.video_batcher).max_batch_size
        max_batch[kind] = args.max_batch_size or default_batch
        kind_cells, summary[kind] = asyncio.run(
            bench_kind(bundle, kind, max_batch[kind], warm, seconds, args.reps, runtime, args.workers)
        )
        cells += kind_cells
    rows = table(cells)
    print(f"\nmedians of {args.reps} interleaved repetitions, max_batch_size {max_batch}:")
    print(f"{'kind':5s} {'mode':7s} {'c':>4s} {'req/s':>9s} {'p50 ms':>9s} {'p99 ms':>9s} {'batch':>6s}")
    for row in rows:
        print(
            f"{row['kind']:5s} {row['mode']:7s} {row['concurrency']:>4d} {row['throughput_rps']:9.1f} "
            f"{row['p50_ms']:9.2f} {row['p99_ms']:9.2f} {row['mean_batch']:6.1f}"
        )
    for kind, s in summary.items():
        print(
            f"{kind:5s} bare b=1 {s['bare_items_per_s_batch1']:.1f} items/s, b={max_batch[kind]} "
            f"{s['bare_items_per_s_max_batch']:.1f} items/s (engine batch gain {s['engine_batch_gain']:.2f}x); "
            f"batching speedup at c=32: {s['speedup_at_c32']:.2f}x (goal >= 2); "
            f"served/bare at c={max(CONCURRENCIES)}: {s['served_fraction_of_bare']:.3f} (goal >= 0.90)"
        )
    load_after = os.getloadavg()
    print(f"load after: {load_after[0]:.1f}/{load_after[1]:.1f}/{load_after[2]:.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {**info, "load_before": load_before, "load_after": load_after},
        "bundle": {"path": str(args.bundle), "bundle_id": bundle.bundle_id},
        "max_batch_size": max_batch,
        "intra_op_threads": args.intra_op_threads,
        "workers": args.workers,
        "reps": args.reps,
        "table": rows,
        "cells": [asdict(c) for c in cells],
        "summary": summary,
    }
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
