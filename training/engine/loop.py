"""The training loop every stage shares: schedule, autocast, gradient averaging, clipping, logging, resume."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import torch
from torch import nn
from tqdm import tqdm

from training.engine.batch import BatchSource, ClipBatch
from training.engine.distributed import (
    DistInfo,
    average_gradients,
    barrier,
    broadcast_parameters,
    reduce_mean,
)
from training.engine.metrics import MetricsLog
from training.engine.optim import build_optimizer, clip_gradients, set_lr
from training.engine.schedule import Schedule, get_lr
from training.engine.state import has_state, load_state, save_state
from training.losses import sum_losses


@dataclass(frozen=True)
class LoopConfig:
    total_steps: int
    global_batch: int
    peak_lr: float
    warmup_steps: int
    decay: Literal["linear", "cosine", "constant"] = "cosine"
    final_lr: float = 0.0
    optimizer: Literal["adamw", "adafactor"] = "adamw"
    weight_decay: float = 1e-4
    # The demo recipe uses CLIP's 0.98; 0.999 (PyTorch's default) stays the default for other configs.
    adam_beta2: float = 0.999
    grad_clip: float = 1.0
    precision: Literal["fp32", "bf16"] = "fp32"
    grad_checkpointing: bool = False
    log_every: int = 10
    checkpoint_every: int = 0  # 0: only at the end

    def schedule(self) -> Schedule:
        return Schedule(self.peak_lr, self.total_steps, self.warmup_steps, self.decay, self.final_lr)


class Task(Protocol):
    """What a stage plugs into the loop."""

    @property
    def trainable(self) -> nn.Module:
        """Every parameter the optimizer updates (frozen teachers live elsewhere)."""
        ...

    def losses(self, batch: ClipBatch, step: int, info: DistInfo) -> dict[str, torch.Tensor]: ...

    def export(self, directory: Path) -> None:
        """Write the stage's model checkpoint (safetensors + config.json)."""
        ...


def autocast(precision: str) -> contextlib.AbstractContextManager[Any]:
    if precision == "bf16":
        device = "cuda" if torch.cuda.is_available() else "cpu"
        return torch.autocast(device_type=device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _batches(source: BatchSource, start: int, total: int, info: DistInfo) -> Iterator[ClipBatch]:
    # Built in this thread: a helper thread building the next batch during the step was slower on 2 cores
    # (52 vs 60 clips/s over 100 demo stage-1 steps), since both compete for the same cores.
    for step in range(start, total):
        yield source.global_batch(step).shard(info.rank, info.world_size)


def run_training(
    task: Task,
    source: BatchSource,
    loop: LoopConfig,
    run_dir: str | Path,
    run_config: dict[str, Any],
    info: DistInfo | None = None,
    resume: bool = False,
    stop_after: int | None = None,
    progress: bool = True,
) -> dict[str, float]:
    """Train to `loop.total_steps` (or stop early after `stop_after` steps, for resume tests).

    Returns the last logged metrics. The model checkpoint and resumable state land in `run_dir`. Every rank
    starts from rank 0's weights (initialisation draws may differ per process).
    """
    info = info or DistInfo()
    run_dir = Path(run_dir)
    trainable = task.trainable
    broadcast_parameters(trainable, info)
    trainable.train()
    optimizer = build_optimizer(
        trainable, loop.optimizer, loop.peak_lr, loop.weight_decay, betas=(0.9, loop.adam_beta2)
    )
    start = load_state(run_dir, trainable, optimizer) if resume and has_state(run_dir) else 0
    log = MetricsLog(run_dir / "metrics.jsonl", enabled=info.is_main)
    if info.is_main:
        log.write({"event": "start", "step": start, "world_size": info.world_size, "config": run_config})
    end = loop.total_steps if stop_after is None else min(loop.total_steps, start + stop_after)
    bar = tqdm(total=end - start, disable=not (progress and info.is_main), desc=run_dir.name, leave=False)
    last: dict[str, float] = {}
    window_start, window_clips = time.perf_counter(), 0
    for step, batch in enumerate(_batches(source, start, end, info), start=start):
        lr = get_lr(step, loop.schedule())
        set_lr(optimizer, lr)
        with autocast(loop.precision):
            terms = task.losses(batch, step, info)
        loss = sum_losses(terms)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(trainable, info)
        grad_norm = clip_gradients(trainable.parameters(), loop.grad_clip)
        optimizer.step()
        window_clips += len(batch) * info.world_size
        bar.update(1)
        done = step + 1
        if done % loop.log_every == 0 or done == end:
            elapsed = time.perf_counter() - window_start
            last = {k: reduce_mean(float(v.detach()), info) for k, v in terms.items()}
            last.update(
                step=done, lr=lr, loss=reduce_mean(float(loss.detach()), info), grad_norm=grad_norm,
                clips_per_s=window_clips / max(elapsed, 1e-9),
            )  # fmt: skip
            log.write(last)
            bar.set_postfix(loss=f"{last['loss']:.4f}")
            window_start, window_clips = time.perf_counter(), 0
        if loop.checkpoint_every and done % loop.checkpoint_every == 0 and done < end:
            _checkpoint(task, trainable, optimizer, done, run_dir, run_config, info)
    bar.close()
    _checkpoint(task, trainable, optimizer, end, run_dir, run_config, info)
    return last


def _checkpoint(
    task: Task,
    trainable: nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    run_dir: Path,
    run_config: dict[str, Any],
    info: DistInfo,
) -> None:
    if info.is_main:
        save_state(run_dir, trainable, optimizer, step, run_config)
        task.export(run_dir / "model")
    barrier(info)
