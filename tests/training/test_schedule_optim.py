"""Learning-rate schedule and optimizer grouping."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from training.engine.optim import build_optimizer, param_groups
from training.engine.schedule import Schedule, get_lr


@pytest.mark.parametrize("decay", ["linear", "cosine"])
def test_warmup_peak_and_decay(decay: str) -> None:
    s = Schedule(peak_lr=1.0, total_steps=100, warmup_steps=10, decay=decay, final_lr=0.1)  # type: ignore[arg-type]
    lrs = [get_lr(step, s) for step in range(100)]
    assert math.isclose(lrs[0], 0.1) and math.isclose(lrs[9], 1.0)
    assert all(a <= b for a, b in itertools.pairwise(lrs[:10]))
    assert all(a >= b for a, b in itertools.pairwise(lrs[10:]))
    assert math.isclose(get_lr(100, s), 0.1) and math.isclose(get_lr(10_000, s), 0.1)
    assert get_lr(37, s) == get_lr(37, s) == s.get_lr(37)  # pure


def test_weight_decay_skips_vectors() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4))
    decay, no_decay = param_groups(model, 0.1)
    decayed = decay["params"]
    assert isinstance(decayed, list) and [p.ndim for p in decayed] == [2]
    assert no_decay["weight_decay"] == 0.0 and isinstance(no_decay["params"], list)
    assert len(no_decay["params"]) == 3
    for kind in ("adamw", "adafactor"):
        opt = build_optimizer(model, kind, 1e-3, 0.1)  # type: ignore[arg-type]
        model(torch.randn(2, 3)).sum().backward()
        opt.step()


def test_loop_beta2_reaches_the_saved_optimizer(tmp_path: Path) -> None:
    from tests.training.helpers import RandomSource, tiny_loop
    from training.configs.models import micro
    from training.stage1 import Stage1Config, train_stage1

    config = Stage1Config(loop=tiny_loop(2, batch=4, adam_beta2=0.98), model=micro(), token_drop=0.0)
    train_stage1(config, RandomSource(batch=4), tmp_path, progress=False)
    saved = torch.load(tmp_path / "state" / "optimizer.pt", weights_only=True)
    assert {tuple(group["betas"]) for group in saved["param_groups"]} == {(0.9, 0.98)}
