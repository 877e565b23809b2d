"""Stage-2 distillation losses: cosine distance to the frozen teacher, token-wise and global."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def cosine_distance(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - cos along the last axis, averaged over every other axis (scale-free, so no target norm)."""
    cos = F.cosine_similarity(prediction.float(), target.float().detach(), dim=-1, eps=1e-6)
    return (1.0 - cos).mean()


class DistillationLoss(nn.Module):
    """Token-wise loss at every position plus the global-embedding loss, each weighted and switchable.

    Inputs left as None (a disabled branch) contribute no term, so ablations drop a key rather than add 0.
    """

    def __init__(self, token_weight: float = 1.0, global_weight: float = 1.0) -> None:
        super().__init__()
        self.token_weight = token_weight
        self.global_weight = global_weight

    def forward(
        self,
        token_prediction: torch.Tensor | None,
        token_target: torch.Tensor,
        global_prediction: torch.Tensor | None,
        global_target: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        terms: dict[str, torch.Tensor] = {}
        if token_prediction is not None:
            per_token = 1.0 - F.cosine_similarity(
                token_prediction.float(), token_target.float().detach(), dim=-1, eps=1e-6
            )  # (B, L)
            terms["token_loss"] = self.token_weight * per_token.mean()
            if mask is not None:
                # Logged separately: how well hidden vs visible positions are reconstructed.
                with torch.no_grad():
                    hidden = mask.bool()
                    terms["token_distance_masked"] = per_token[hidden].mean()
                    terms["token_distance_visible"] = per_token[~hidden].mean()
        if global_prediction is not None:
            terms["global_loss"] = self.global_weight * cosine_distance(global_prediction, global_target)
        return terms
