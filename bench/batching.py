"""Dynamic batching benchmark: throughput and p50/p99 latency of the inference core at several
concurrencies, dynamic batching vs `max_batch_size=1`, and served throughput as a fraction of a bare
onnxruntime session running batches of `max_batch_size` in a loop.

Goals: dynamic batching >= 2x the unbatched throughput at concurrency 32; serving overhead <= 10 % of
the bare session's throughput (served / bare >= 0.9 at the highest concurrency).

    .venv/bin/python -m bench.batching [--bundle PATH] [--seconds 2] [--kinds text video]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from service.bundle.loader import Bundle, load_bundle
from service.core import BatcherSettings, CoreSettings, DecodedFrames, InferenceCore, RuntimeSettings
from service.text import TextTokenizer

CONCURRENCIES = (1, 8, 32, 128)


@dataclass(frozen=True)
class Cell:
    kind: str
    mode: str  # "dynamic" | "batch1"
    concurrency: int
    requests: int
    throughput_rps: float
    p50_ms: float
    p99_ms: float


def machine() -> dict[str, object]:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
    }


def default_bundle(directory: Path) -> Path:
    # Imported lazily: only needed when no real bundle is given. A wider MLP than the test default gives
    # each item real compute, so the figures are not pure Python overhead.
    from tests.core.bundle_factory import TinyBundleSpec, build_tiny_bundle

    spec = TinyBundleSpec(embedding_dim=64, num_frames=8, image_size=32, hidden=256, max_length=32)
    return build_tiny_bundle(directory, spec)


def _texts(count: int) -> list[str]:
    words = [
        "dog",
        "cat",
        "chef",
        "robot",
        "bird",
        "kid",
        "park",
        "kitchen",
        "ball",
        "street",
        "beach",
        "box",
    ]
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(words, size=int(rng.integers(3, 12)))) + f" {i}" for i in range(count)]


def _clips(bundle: Bundle, count: int) -> list[np.ndarray]:
    spec = bundle.manifest.video
    rng = np.random.default_rng(0)
    return [
        rng.integers(0, 256, (spec.num_frames, spec.image_size, spec.image_size, 3), dtype=np.uint8)
        for _ in range(count)
    ]


async def _closed_loop(
    call: Callable[[int], Awaitable[None]], concurrency: int, seconds: float
) -> tuple[int, list[float]]:
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            await call(next(counter))
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), latencies


async def measure(bundle: Bundle, kind: str, mode: str, max_batch: int, seconds: float) -> list[Cell]:
    batcher = BatcherSettings(max_batch_size=max_batch, max_queue_delay_ms=2.0, max_queue_size=4096)
    if mode == "batch1":
        batcher = BatcherSettings(max_batch_size=1, max_queue_delay_ms=0.0, max_queue_size=4096)
    settings = CoreSettings(
        video_batcher=batcher, text_batcher=batcher, runtime=RuntimeSettings(device="cpu")
    )
    core = InferenceCore.create(settings, bundle)  # no cache: every request must reach the engine
    await core.start()
    texts, clips = _texts(100_000), _clips(bundle, 1024)

    async def call(i: int) -> None:
        if kind == "text":
            (result,) = await core.embed_texts([texts[i % len(texts)]])
            error = result.error
        else:
            error = (await core.embed_video(DecodedFrames(clips[i % len(clips)]))).error
        if error is not None:
            raise RuntimeError(f"benchmark request failed: {error.code}: {error.message}")

    cells = []
    for concurrency in CONCURRENCIES:
        await _closed_loop(call, concurrency, min(0.3, seconds))  # settle
        started = time.perf_counter()
        done, latencies = await _closed_loop(call, concurrency, seconds)
        elapsed = time.perf_counter() - started
        quantiles = statistics.quantiles(latencies, n=100)
        cells.append(
            Cell(kind, mode, concurrency, done, done / elapsed, quantiles[49] * 1e3, quantiles[98] * 1e3)
        )
        print(
            f"{kind:5s} {mode:7s} c={concurrency:<4d} {done / elapsed:9.1f} req/s  p50 {quantiles[49] * 1e3:7.2f} ms  p99 {quantiles[98] * 1e3:7.2f} ms",
            flush=True,
        )
    await core.drain(5)
    return cells


def bare_throughput(bundle: Bundle, kind: str, batch: int, seconds: float) -> float:
    """Items/s of a plain onnxruntime session fed ready-made batches of `batch` in a loop."""
    if kind == "text":
        assert (
            bundle.text_encoder is not None
            and bundle.tokenizer is not None
            and bundle.manifest.text is not None
        )
        tokens = TextTokenizer(bundle.tokenizer, max_length=bundle.manifest.text.max_length).encode_batch(
            _texts(batch)
        )
        session = ort.InferenceSession(str(bundle.text_encoder), providers=["CPUExecutionProvider"])
        feeds: dict[str, np.ndarray] = {"input_ids": tokens.ids, "paddings": tokens.paddings}
    else:
        session = ort.InferenceSession(str(bundle.video_encoder), providers=["CPUExecutionProvider"])
        feeds = {"frames": np.stack(_clips(bundle, batch)).astype(np.float32) / 255.0}
    for _ in range(3):
        session.run(None, feeds)
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        session.run(None, feeds)
        runs += 1
    return runs * batch / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--bundle", type=Path, default=None, help="bundle directory (default: a fixture-built tiny one)"
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="measurement time per cell")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--kinds", nargs="+", default=["text", "video"], choices=["text", "video"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "batching.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        bundle = load_bundle(args.bundle or default_bundle(Path(scratch) / "bundle"))
        info = machine()
        print(
            f"machine: {info['cpu_model']}, {info['cores']} cores; bundle {bundle.manifest.model_name} {bundle.bundle_id}"
        )
        cells: list[Cell] = []
        summary: dict[str, dict[str, float]] = {}
        for kind in args.kinds:
            bare = bare_throughput(bundle, kind, args.max_batch_size, args.seconds)
            print(
                f"{kind:5s} bare onnxruntime session, batch {args.max_batch_size}: {bare:9.1f} items/s",
                flush=True,
            )
            dynamic = asyncio.run(measure(bundle, kind, "dynamic", args.max_batch_size, args.seconds))
            single = asyncio.run(measure(bundle, kind, "batch1", args.max_batch_size, args.seconds))
            at32 = {c.mode: c.throughput_rps for c in dynamic + single if c.concurrency == 32}
            best = max(c.throughput_rps for c in dynamic)
            summary[kind] = {
                "bare_items_per_s": bare,
                "speedup_at_c32": at32["dynamic"] / at32["batch1"],
                "served_fraction_of_bare": best / bare,
            }
            print(
                f"{kind:5s} batching speedup at c=32: {summary[kind]['speedup_at_c32']:.2f}x (goal >= 2); "
                f"served/bare: {summary[kind]['served_fraction_of_bare']:.3f} (goal >= 0.90)",
                flush=True,
            )
            cells += dynamic + single
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": info,
        "bundle": {"path": str(args.bundle or "fixture:tiny"), "bundle_id": bundle.bundle_id},
        "max_batch_size": args.max_batch_size,
        "seconds_per_cell": args.seconds,
        "cells": [asdict(c) for c in cells],
        "summary": summary,
    }
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
