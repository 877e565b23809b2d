"""AdamW (or Adafactor) with weight decay on matrices only, and global-norm gradient clipping."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import torch
from torch import nn


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, object]]:
    """Decay only >= 2-D weights: decaying LayerNorm gains, biases or the temperature would fight the loss
    without any regularising benefit (the standard ViT/CLIP practice)."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for _name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (decay if param.ndim >= 2 else no_decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def build_optimizer(
    model: nn.Module,
    kind: Literal["adamw", "adafactor"],
    lr: float,
    weight_decay: float,
    betas: tuple[float, float] = (0.9, 0.999),
) -> torch.optim.Optimizer:
    groups = param_groups(model, weight_decay)
    if kind == "adamw":
        # The fused kernel updates every tensor in one pass: 3.5 ms instead of 13-20 ms per step for the
        # demo model's ~180 parameter tensors on this CPU (the per-tensor loop is PyTorch's CPU default).
        return torch.optim.AdamW(groups, lr=lr, betas=betas, fused=True)
    if kind == "adafactor":
        return torch.optim.Adafactor(groups, lr=lr)  # type: ignore[arg-type]
    raise ValueError(f"unknown optimizer {kind!r}")


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def clip_gradients(parameters: Iterable[nn.Parameter], max_norm: float) -> float:
    """Clip to `max_norm` (0 disables) and return the pre-clip global norm for logging."""
    params = [p for p in parameters if p.grad is not None]
    if not params:
        return 0.0
    if max_norm <= 0:
        return float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params])))  # type: ignore[union-attr]
    return float(torch.nn.utils.clip_grad_norm_(params, max_norm))
