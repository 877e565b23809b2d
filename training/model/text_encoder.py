"""The CoCa-style unimodal text tower of the LvT models."""

from __future__ import annotations

import math

import torch
from torch import nn

from training.model.config import TextEncoderConfig
from training.model.layers import init_linear_, layer_norm, tower_stack


def official_sinusoid(length: int, width: int, device: torch.device | None = None) -> torch.Tensor:
    """Fixed position table [length, width]: all sines, then all cosines.

    The official timescales are 10000 ** (-i / (width/2 - 1)), not the common 10000 ** (-2i / width); the
    common formula is off by up to 0.06 per element at width 768.
    """
    num_timescales = width // 2
    increment = math.log(10_000.0) / max(num_timescales - 1, 1)
    inv_freq = torch.exp(-increment * torch.arange(num_timescales, dtype=torch.float32, device=device))
    angles = torch.arange(length, dtype=torch.float32, device=device)[:, None] * inv_freq[None, :]
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if width % 2:
        table = torch.nn.functional.pad(table, (0, 1))
    return table


class TextEncoder(nn.Module):
    """token_ids [B, L] int, paddings [B, L] float (1 = pad) -> sequence [B, L+1, D] after the final LN.

    The text embedding is the last position: a class token appended after the (right-padded) text.
    """

    def __init__(self, config: TextEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.token_emb = nn.Embedding(config.vocab_size, config.width)
        self.cls_emb = nn.Parameter(torch.zeros(1, 1, config.width))
        self.unimodal_transformer = tower_stack(config, config.num_layers, "relu", causal=True)
        self.unimodal_ln = layer_norm(config.width)
        nn.init.normal_(self.token_emb.weight, std=1.0 / math.sqrt(config.width))
        nn.init.normal_(self.cls_emb, std=1.0 / math.sqrt(config.width))
        init_linear_(self.unimodal_transformer)

    def forward_sequence(self, token_ids: torch.Tensor, paddings: torch.Tensor) -> torch.Tensor:
        batch, length = token_ids.shape
        scale = math.sqrt(self.config.width)
        x = self.token_emb(token_ids) * scale
        x = x + official_sinusoid(length, self.config.width, x.device).to(x.dtype)
        cls = (self.cls_emb * scale).to(x.dtype).expand(batch, -1, -1)
        x = torch.cat([x, cls], dim=1)  # (B, L+1, D): the class token goes last and has no position
        paddings = torch.cat([paddings.to(x.dtype), paddings.new_zeros(batch, 1).to(x.dtype)], dim=1)
        return self.unimodal_ln(self.unimodal_transformer(x, paddings))

    def forward(self, token_ids: torch.Tensor, paddings: torch.Tensor) -> torch.Tensor:
        """-> un-normalized text embeddings [B, D]."""
        return self.forward_sequence(token_ids, paddings)[:, -1]
