"""Encoder throughput: torch eager vs ONNX Runtime fp32 and int8 (CPU), clips/s and texts/s at batch 1, 8, 32.

Goals (2 threads): ONNX Runtime fp32 >= 1.7x torch eager at batch 8, int8 >= 1.5x fp32, and (tiny)
fp32 >= 50 clips/s at batch 8.

    .venv/bin/python -m bench.encoder [--checkpoint CKPT | --preset small] [--seconds 3] [--batches 1 8 32]

Without --checkpoint it uses a seeded random model of `--preset` (default `tiny`, the demo model's shape);
random weights cost the same as trained ones. int8 dynamic quantization pays a quantize/dequantize pass
per matmul, so its gain grows with the width: `tiny` (D = 96) and `small` (D = 384) are both worth a row.
Both runtimes get the same thread count. The machine may be shared, so
the 1-minute load average before and after is recorded next to the numbers.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from bench.loadgen.machine import machine
from training.checkpoint import load_model_checkpoint
from training.export.bundle import export_model_bundle
from training.export.demo_tokenizer import train_tokenizer
from training.export.parity import random_text_batch
from training.export.precision import convert_precision
from training.model import VideoTextModel, build_model, presets

RESULTS = Path(__file__).resolve().parent / "results" / "encoder.json"


@dataclass(frozen=True)
class Cell:
    tower: str  # "video" (clips/s) | "text" (texts/s)
    runtime: str  # "torch_eager" | "ort_fp32" | "ort_int8"
    batch: int
    items_per_s: float
    ratio_to_torch: float


def interleaved_throughput(
    runs: dict[str, Callable[[], object]], batch: int, seconds: float
) -> dict[str, float]:
    """Items/s of each runner from the median of its call times, calls interleaved round-robin.

    On a shared machine the load drifts during a run; interleaving exposes every runner to the same drift,
    and the median ignores the calls that a burst of foreign load happened to hit.
    """
    for run in runs.values():  # warm-up: first calls allocate and (for torch) pick kernels
        run()
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    start = time.perf_counter()
    while time.perf_counter() - start < seconds * len(runs) or min(len(t) for t in times.values()) < 5:
        for name, run in runs.items():
            began = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - began)
    return {name: batch / statistics.median(t) for name, t in times.items()}


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="video-text checkpoint (default: seeded random tiny)")
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per runtime and cell")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--preset", default="tiny", help="video-text preset of the random model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--out", type=Path, help="default: bench/results/encoder.json (tiny) or encoder_PRESET.json"
    )
    args = parser.parse_args()
    if args.out is None:
        suffix = "" if args.checkpoint is not None or args.preset == "tiny" else f"_{args.preset}"
        args.out = RESULTS.with_name(f"encoder{suffix}.json")

    torch.set_num_threads(args.threads)
    if args.checkpoint is not None:
        model = load_model_checkpoint(args.checkpoint)
    else:
        torch.manual_seed(0)
        model = build_model(presets[args.preset]).eval()
    if not isinstance(model, VideoTextModel):
        parser.error("the benchmark needs a video-text model (both towers)")
    config = model.config
    info = machine(threads=args.threads, torch=torch.__version__, onnxruntime=ort.__version__)
    print(
        f"machine: {info['cpu_model']}, {info['cores']} cores, {args.threads} threads; load {os.getloadavg()[0]:.2f}"
    )
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # The caption corpus has too few distinct pieces for a 32k vocabulary; a smaller tokenizer leaves the
        # embedding table (and so the cost) of the tower unchanged.
        pieces = min(config.text.vocab_size, 512)
        tokenizer = train_tokenizer(root / "tokenizer.model", vocab_size=pieces)
        export_model_bundle(
            model, root / "fp32", tokenizer_file=tokenizer, source_checkpoint="bench", model_name="bench"
        )
        sessions: dict[str, dict[str, ort.InferenceSession]] = {"ort_fp32": {}, "ort_int8": {}}
        for tower, file in (("video", "video_encoder.onnx"), ("text", "text_encoder.onnx")):
            convert_precision(root / "fp32" / file, root / f"int8_{file}", "int8")
            sessions["ort_fp32"][tower] = session(root / "fp32" / file, args.threads)
            sessions["ort_int8"][tower] = session(root / f"int8_{file}", args.threads)

        rng = np.random.default_rng(0)
        video, length = config.video, config.text.max_length
        cells: list[Cell] = []
        for tower in ("video", "text"):
            for batch in args.batches:
                if tower == "video":
                    shape = (batch, video.num_frames, video.image_size, video.image_size, 3)
                    frames = rng.random(shape, dtype=np.float32)
                    feeds: dict[str, np.ndarray] = {"frames": frames}
                    eager: Callable[[], object] = functools.partial(
                        model.encode_video, torch.from_numpy(frames)
                    )
                else:
                    ids, paddings = random_text_batch(batch, length, pieces, rng)
                    feeds = {"input_ids": ids, "paddings": paddings}
                    eager = functools.partial(
                        model.encode_text, torch.from_numpy(ids), torch.from_numpy(paddings)
                    )
                runs: dict[str, Callable[[], object]] = {"torch_eager": eager}
                for runtime in ("ort_fp32", "ort_int8"):
                    runs[runtime] = functools.partial(sessions[runtime][tower].run, None, feeds)
                with torch.inference_mode():
                    rates = interleaved_throughput(runs, batch, args.seconds)
                for runtime, items in rates.items():
                    cells.append(Cell(tower, runtime, batch, items, items / rates["torch_eager"]))
                unit = "clips/s" if tower == "video" else "texts/s"
                row = [c for c in cells if c.tower == tower and c.batch == batch]
                print(
                    f"{tower:5s} batch {batch:3d}: "
                    + "  ".join(
                        f"{c.runtime} {c.items_per_s:8.1f} {unit} ({c.ratio_to_torch:4.2f}x)" for c in row
                    )
                )

    def rate(tower: str, runtime: str, batch: int) -> float | None:
        return next(
            (c.items_per_s for c in cells if (c.tower, c.runtime, c.batch) == (tower, runtime, batch)), None
        )

    goals: dict[str, object] = {}
    fp32, int8, eager8 = (
        rate("video", "ort_fp32", 8),
        rate("video", "ort_int8", 8),
        rate("video", "torch_eager", 8),
    )
    if fp32 and int8 and eager8:
        goals = {
            "video_fp32_over_torch_batch8": round(fp32 / eager8, 3),
            "video_fp32_over_torch_goal": 1.7,
            "video_int8_over_fp32_batch8": round(int8 / fp32, 3),
            "video_int8_over_fp32_goal": 1.5,
            "video_fp32_clips_per_s_batch8": round(fp32, 1),
            "video_fp32_clips_per_s_goal": 50,
        }
        print("goals: " + ", ".join(f"{k}={v}" for k, v in goals.items()))
    report = {
        "bench": "encoder",
        "model": f"{args.preset} (seed 0)" if args.checkpoint is None else str(args.checkpoint),
        "machine": info,
        "load_average_1m": {"before": load_before, "after": os.getloadavg()[0]},
        "seconds_per_cell": args.seconds,
        "cells": [asdict(c) for c in cells],
        "goals": goals,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
