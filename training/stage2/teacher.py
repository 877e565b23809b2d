"""The frozen stage-1 teacher: encoder + auxiliary layers + MAP on the full, unmasked clip."""

from __future__ import annotations

import torch
from torch import nn

from training.model import VideoTextModel


class FrozenTeacher(nn.Module):
    """Wraps a stage-1 `VideoTextModel`; always in eval mode, never trainable, never builds a graph.

    `train(True)` is ignored, so a parent's `.train()` cannot switch it back, and its parameters have
    `requires_grad=False` so no optimizer built from `parameters()` with that filter can update them.
    """

    def __init__(self, model: VideoTextModel) -> None:
        super().__init__()
        # The text tower is not needed to make targets; dropping it saves memory.
        self.vision_encoder = model.vision_encoder
        self.auxiliary_encoder = model.auxiliary_encoder
        self.contrastive_vision_pooler = model.contrastive_vision_pooler
        for param in self.parameters():
            param.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> FrozenTeacher:
        return super().train(False)

    @torch.no_grad()
    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """frames [B, T, H, W, 3] in [0, 1] -> (tokens [B, T*N, D], global embedding [B, D]), float32."""
        tokens = self.vision_encoder(frames)
        pooled = self.contrastive_vision_pooler(self.auxiliary_encoder(tokens))
        return tokens.float(), pooled.float()
