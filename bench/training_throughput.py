"""Training throughput on `tiny`: clips/s of one optimizer step per stage (stage 1, stage 2, LiT align),
on random clips of the synthetic world's shape, after warm-up steps.

    .venv/bin/python -m bench.training_throughput [--model demo] [--batch 32] [--steps 5] [--warmup 2]
        [--precision fp32]

`--model demo` is the demo recipe's `tiny` with the conv stem, `tiny` the preset (linear patchify).

Prints the machine (CPU, cores, load average: a shared machine gives lower bounds) and writes
bench/results/training_throughput_MODEL.json (MODEL_bf16 with `--precision bf16`). The demo recipe's CPU
time is its clip-steps per stage divided by these rates.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

from bench.loadgen.machine import machine, machine_line, write_result
from training.align import AlignConfig, AlignTask
from training.configs.demo import demo_model
from training.engine.batch import ClipBatch
from training.engine.distributed import DistInfo
from training.engine.loop import LoopConfig, autocast
from training.engine.optim import build_optimizer
from training.losses import sum_losses
from training.model import VideoTextConfig, VideoTextModel, presets
from training.stage1 import Stage1Config, Stage1Task
from training.stage2 import Stage2Config, Stage2Task


def _batch(config: VideoTextConfig, size: int) -> ClipBatch:
    v, t = config.video, config.text
    gen = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (size, v.num_frames, v.image_size, v.image_size, 3), generator=gen)
    return ClipBatch(
        frames=frames.to(torch.uint8),
        token_ids=torch.randint(1, t.vocab_size, (size, t.max_length), generator=gen),
        paddings=torch.zeros(size, t.max_length),
    )


def _rate(task: Any, batch: ClipBatch, steps: int, warmup: int, precision: str) -> float:
    optimizer = build_optimizer(task.trainable, "adamw", 1e-4, 1e-4)
    task.trainable.train()
    elapsed = 0.0
    for step in range(warmup + steps):
        start = time.perf_counter()
        with autocast(precision):
            loss = sum_losses(task.losses(batch, step, DistInfo()))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step >= warmup:
            elapsed += time.perf_counter() - start
    return len(batch) * steps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--model", choices=["demo", "tiny"], default="demo")
    args = parser.parse_args()
    info = machine()
    print(machine_line(info), f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    tiny = presets["tiny"]
    assert isinstance(tiny, VideoTextConfig)
    config = demo_model() if args.model == "demo" else tiny
    loop = LoopConfig(total_steps=1, global_batch=args.batch, peak_lr=1e-4, warmup_steps=0)
    batch = _batch(config, args.batch)
    stage1_model = VideoTextModel(config)
    tasks: dict[str, Any] = {
        "stage1": Stage1Task(Stage1Config(loop=loop, token_drop=0.0), model=stage1_model),
        "stage1_token_drop_0.5": Stage1Task(Stage1Config(loop=loop, token_drop=0.5), model=stage1_model),
        "stage2": Stage2Task(Stage2Config(loop=loop), stage1_model),
        "align": AlignTask(AlignConfig(loop=loop), stage1_model, stage1_model.vision_encoder),
    }
    rates: dict[str, float] = {}
    for name, task in tasks.items():
        rates[name] = _rate(task, batch, args.steps, args.warmup, args.precision)
        print(
            f"{name:24s} {rates[name]:7.1f} clips/s  (batch {args.batch}, {args.precision}, "
            f"{args.model} model)",
            flush=True,
        )
    payload = {
        "machine": machine(),
        "machine_at_start": info,
        "preset": "tiny",
        "model": args.model,
        "batch": args.batch,
        "steps": args.steps,
        "precision": args.precision,
        "clips_per_s": rates,
    }
    suffix = "" if args.precision == "fp32" else f"_{args.precision}"
    print("wrote", write_result(f"training_throughput_{args.model}{suffix}", payload))


if __name__ == "__main__":
    main()
