"""Training losses: each an `nn.Module` returning a dict of named terms; trainers sum the `*_loss` keys."""

from __future__ import annotations

import torch

from training.losses.contrastive import MAX_LOGIT_SCALE, ContrastiveLoss, all_gather_with_grad
from training.losses.distillation import DistillationLoss, cosine_distance

__all__ = [
    "MAX_LOGIT_SCALE",
    "ContrastiveLoss",
    "DistillationLoss",
    "all_gather_with_grad",
    "cosine_distance",
    "sum_losses",
]


def sum_losses(terms: dict[str, torch.Tensor]) -> torch.Tensor:
    """The training objective: the sum of every `*_loss` term (other keys are logged only)."""
    losses = [value for key, value in terms.items() if key.endswith("_loss")]
    if not losses:
        raise ValueError(f"no *_loss term among {sorted(terms)}")
    total = losses[0]
    for value in losses[1:]:
        total = total + value
    return total
