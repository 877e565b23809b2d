"""Learning-rate schedules as pure functions of the step (no hidden scheduler state to checkpoint)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Schedule:
    """Linear warmup from 0 to `peak_lr`, then linear or cosine decay to `final_lr` at `total_steps`."""

    peak_lr: float
    total_steps: int
    warmup_steps: int
    decay: Literal["linear", "cosine", "constant"] = "cosine"
    final_lr: float = 0.0

    def get_lr(self, step: int) -> float:
        return get_lr(step, self)


def get_lr(step: int, s: Schedule) -> float:
    """The learning rate used for optimizer step `step` (0-based)."""
    if s.warmup_steps > 0 and step < s.warmup_steps:
        return s.peak_lr * (step + 1) / s.warmup_steps
    if s.decay == "constant":
        return s.peak_lr
    span = max(1, s.total_steps - s.warmup_steps)
    progress = min(1.0, max(0.0, (step - s.warmup_steps) / span))
    factor = 1.0 - progress if s.decay == "linear" else 0.5 * (1.0 + math.cos(math.pi * progress))
    return s.final_lr + (s.peak_lr - s.final_lr) * factor
