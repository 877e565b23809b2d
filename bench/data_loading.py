"""Data loading benchmark: synthetic renderer clips/s on one core, loader clips/s with worker processes,
and the fraction of a simulated training run spent waiting for data.

Goals: the renderer makes >= 200 tiny clips/s (8 x 64 x 64) per core; with workers, a training step of
`--step-ms` (simulated by sleeping, as a GPU step leaves the CPU free) waits for data < 5 % of the time.

    .venv/bin/python -m bench.data_loading [--seconds 3] [--batch-size 32] [--step-ms 100] [--workers 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from bench.loadgen.machine import machine
from training.data.loader import LoaderConfig, make_batch_loader
from training.data.mixing import WeightedSource
from training.data.synthetic import SyntheticConfig, SyntheticVideoText

RENDER_GOAL_CLIPS_PER_S = 200.0
WAIT_GOAL_FRACTION = 0.05


def render_rate(seconds: float) -> float:
    """Clips/s of rendering + captioning in this process (one core)."""
    dataset = SyntheticVideoText(seed=123)
    for index in range(20):  # warm-up: imports, allocator
        dataset[index]
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        dataset[count]
        count += 1
    return count / (time.perf_counter() - started)


def _sources() -> list[WeightedSource]:
    return [
        WeightedSource("clean", 3.0, SyntheticVideoText(seed=1, source="clean")),
        WeightedSource(
            "noisy", 1.0, SyntheticVideoText(SyntheticConfig(noisy_caption_rate=1.0), seed=2, source="noisy")
        ),
    ]


def loader_rate(workers: int, batch_size: int, seconds: float) -> float:
    """Clips/s the loader delivers to a consumer that does nothing."""
    loader = iter(make_batch_loader(_sources(), LoaderConfig(batch_size=batch_size, num_workers=workers)))
    for _ in range(max(workers, 1) * 2):  # warm-up: worker start-up is a one-off cost
        next(loader)
    clips, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        clips += next(loader).frames.shape[0]
    return clips / (time.perf_counter() - started)


def wait_fraction(workers: int, batch_size: int, step_ms: float, steps: int) -> float:
    """Fraction of wall time a loop of `steps` training steps spends blocked on the next batch."""
    loader = iter(make_batch_loader(_sources(), LoaderConfig(batch_size=batch_size, num_workers=workers)))
    warmup = 10  # worker start-up is a one-off cost, not steady-state waiting
    waited = 0.0
    started = time.perf_counter()
    for step in range(warmup + steps):
        if step == warmup:
            waited, started = 0.0, time.perf_counter()
        before = time.perf_counter()
        batch = next(loader)
        waited += time.perf_counter() - before
        batch.video()  # the uint8 -> float conversion the step does
        time.sleep(step_ms / 1000.0)
    return waited / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="measurement time per figure")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--step-ms", type=float, default=100.0, help="simulated training step time")
    parser.add_argument("--steps", type=int, default=40, help="simulated training steps per wait figure")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "data_loading.json")
    args = parser.parse_args()

    info = machine(torch=torch.__version__)
    print(f"machine: {info['cpu_model']}, {info['cores']} cores; torch {info['torch']}", flush=True)
    render = render_rate(args.seconds)
    print(
        f"renderer (8x64x64 clips + captions), one core: {render:7.1f} clips/s (goal >= {RENDER_GOAL_CLIPS_PER_S:.0f})"
    )
    loaders: dict[str, dict[str, float]] = {}
    for workers in args.workers:
        rate = loader_rate(workers, args.batch_size, args.seconds)
        waiting = wait_fraction(workers, args.batch_size, args.step_ms, args.steps)
        loaders[str(workers)] = {"clips_per_s": rate, "wait_fraction": waiting}
        print(
            f"loader, {workers} workers, batch {args.batch_size}: {rate:7.1f} clips/s; "
            f"{args.step_ms:.0f} ms steps wait {100 * waiting:5.1f} % of the time (goal < {100 * WAIT_GOAL_FRACTION:.0f} %)",
            flush=True,
        )
    report = {
        "machine": info,
        "settings": {
            "seconds": args.seconds,
            "batch_size": args.batch_size,
            "step_ms": args.step_ms,
            "steps": args.steps,
        },
        "render_clips_per_s_one_core": render,
        "loaders_by_workers": loaders,
        "goals": {"render_clips_per_s": RENDER_GOAL_CLIPS_PER_S, "wait_fraction": WAIT_GOAL_FRACTION},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
