"""Transformer building blocks: pre-LN layers and stacks with padding/causal masks (official semantics)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from training.model.attention import MultiHeadAttention
from training.model.config import TextEncoderConfig, VideoEncoderConfig

LAYER_NORM_EPS = 1e-6


def layer_norm(width: int) -> nn.LayerNorm:
    """LayerNorm with the official epsilon (the official stores gamma - 1; converters add the 1 back)."""
    return nn.LayerNorm(width, eps=LAYER_NORM_EPS)


def init_linear_(module: nn.Module) -> None:
    """Truncated-normal (std 0.02) weights and zero biases for every `nn.Linear` inside `module`, in module
    order: the order fixes which random numbers each layer draws, so seeded models stay reproducible."""
    for linear in module.modules():
        if isinstance(linear, nn.Linear):
            nn.init.trunc_normal_(linear.weight, std=0.02)
            nn.init.zeros_(linear.bias)


class FeedForward(nn.Module):
    """LN -> dense -> activation -> dense, with padded tokens zeroed after each dense (no FFN update)."""

    def __init__(self, width: int, mlp_dim: int, activation: Literal["gelu", "relu"]) -> None:
        super().__init__()
        self.layer_norm = layer_norm(width)
        self.ffn_layer1 = nn.Linear(width, mlp_dim)
        self.ffn_layer2 = nn.Linear(mlp_dim, width)
        self.activation = activation

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        h = self.ffn_layer1(self.layer_norm(x))
        # Exact (erf) GELU in vision layers; the tanh approximation measurably breaks parity.
        h = F.gelu(h) if self.activation == "gelu" else F.relu(h)
        if keep is not None:
            h = h * keep
        h = self.ffn_layer2(h)
        if keep is not None:
            h = h * keep
        return h


class TransformerLayer(nn.Module):
    """Pre-LN transformer layer: x + Attn(LN(x)), then x + FFN(LN(x)). x: [B, L, D]."""

    def __init__(
        self, width: int, num_heads: int, mlp_dim: int, activation: Literal["gelu", "relu"], logit_cap: float
    ) -> None:
        super().__init__()
        self.layer_norm = layer_norm(width)
        self.self_attention = MultiHeadAttention(width, num_heads, logit_cap=logit_cap)
        self.ff_layer = FeedForward(width, mlp_dim, activation)

    def forward(
        self, x: torch.Tensor, allowed: torch.Tensor | None = None, keep: torch.Tensor | None = None
    ) -> torch.Tensor:
        h = self.layer_norm(x)
        x = x + self.self_attention(h, h, allowed)
        return x + self.ff_layer(x, keep)


def attention_mask(
    paddings: torch.Tensor | None, length: int, causal: bool, device: torch.device | None = None
) -> torch.Tensor | None:
    """Bool mask [B|1, 1, L|1, L] of allowed keys, from paddings [B, L] (1 = pad).

    Non-causal stacks mask padded keys only. Causal stacks also mask padded *queries*, as the official code
    expands the padding mask over both axes before merging it with the causal mask.
    """
    allowed: torch.Tensor | None = None
    if causal:
        positions = torch.arange(length, device=device)
        allowed = (positions[None, :] <= positions[:, None])[None, None]  # (1, 1, L, L)
    if paddings is not None:
        valid = paddings == 0
        key_ok = valid[:, None, None, :]  # (B, 1, 1, L)
        if causal:
            assert allowed is not None
            allowed = allowed & key_ok & valid[:, None, :, None]
        else:
            allowed = key_ok
    return allowed


class StackedTransformer(nn.Module):
    """A stack of pre-LN layers sharing one mask. x: [B, L, D], paddings: [B, L] (1 = pad) -> [B, L, D]."""

    def __init__(
        self,
        num_layers: int,
        width: int,
        num_heads: int,
        mlp_dim: int,
        activation: Literal["gelu", "relu"] = "gelu",
        logit_cap: float = 0.0,
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.causal = causal
        self.layers = nn.ModuleList(
            TransformerLayer(width, num_heads, mlp_dim, activation, logit_cap) for _ in range(num_layers)
        )
        # Activation checkpointing trades one extra forward per layer for not storing its activations.
        self.grad_checkpointing = False

    def forward(self, x: torch.Tensor, paddings: torch.Tensor | None = None) -> torch.Tensor:
        allowed = attention_mask(paddings, x.shape[1], self.causal, x.device)
        keep = None if paddings is None else (1.0 - paddings).to(x.dtype)[..., None]  # (B, L, 1)
        for layer in self.layers:
            if self.grad_checkpointing and self.training:
                x = checkpoint(layer, x, allowed, keep, use_reentrant=False)
            else:
                x = layer(x, allowed, keep)
        return x


def tower_stack(
    tower: VideoEncoderConfig | TextEncoderConfig,
    num_layers: int,
    activation: Literal["gelu", "relu"],
    causal: bool = False,
) -> StackedTransformer:
    """A stack with the tower's width, heads, MLP size and attention logit cap."""
    return StackedTransformer(
        num_layers,
        tower.width,
        tower.num_heads,
        tower.mlp_dim,
        activation=activation,
        logit_cap=tower.atten_logit_cap,
        causal=causal,
    )
