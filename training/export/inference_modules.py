"""Inference-only rewrites of the transformer blocks, used for export: same function, cheaper graph.

The training modules are written for parity with the official code and for training; executed as an ONNX
graph they cost more than needed. These replacements compute the same values (up to float reassociation,
which the parity tests bound at 1e-4) with fewer, larger kernels:

- Self-attention: one fused QKV projection instead of three, with the query scale and the 1/cap of the
  soft-cap folded into the query weights (no per-logit division, no scaling of q at run time).
- Layers run on [B*L, D] matrices, so each projection's bias add fuses into a single Gemm.
- The MAP pooler's query is a constant, so its key projection folds into a [D, heads] matrix and its value
  projection moves after the weighted sum (sum_i p_i (x_i W + b) = (sum_i p_i x_i) W + b, as sum_i p_i = 1):
  O(L * D * heads) instead of O(L * D * 4D) per clip.

`prepare_for_export(model)` returns a deep copy with these swapped in; the original model is untouched
(unless `in_place`).
"""

from __future__ import annotations

import copy
from typing import TypeVar

import torch
from torch import nn

from training.model.attention import MASKED_LOGIT, MultiHeadAttention
from training.model.layers import StackedTransformer, TransformerLayer, attention_mask
from training.model.pooler import AttentionPooler

ModelT = TypeVar("ModelT", bound=nn.Module)


class FusedSelfAttention(nn.Module):
    """Self-attention on rows x [B*L, D] -> [B*L, D], equal to `MultiHeadAttention(x, x, allowed)`."""

    def __init__(self, attention: MultiHeadAttention) -> None:
        super().__init__()
        if attention.per_dim_scale is not None:
            raise ValueError("learned query scales belong to the pooler; self-attention uses a fixed one")
        self.num_heads = attention.num_heads
        self.head_dim = attention.head_dim
        self.logit_cap = attention.logit_cap
        # Logits are q.k * scale, then cap * tanh(logits / cap): fold scale / cap into the query projection.
        q_scale = float(attention.query_scale())
        if self.logit_cap > 0:
            q_scale /= self.logit_cap
        with torch.no_grad():
            weight = torch.cat(
                [attention.query.weight * q_scale, attention.key.weight, attention.value.weight]
            )
            bias = torch.cat([attention.query.bias * q_scale, attention.key.bias, attention.value.bias])
        self.qkv = nn.Linear(weight.shape[1], weight.shape[0])
        self.qkv.weight = nn.Parameter(weight.detach().clone())
        self.qkv.bias = nn.Parameter(bias.detach().clone())
        self.post = attention.post

    def forward(
        self, x: torch.Tensor, batch: int, length: int, allowed: torch.Tensor | None = None
    ) -> torch.Tensor:
        qkv = self.qkv(x).reshape(batch, length, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, H, L, dh)
        logits = q @ k.transpose(-1, -2)
        if self.logit_cap > 0:
            logits = self.logit_cap * torch.tanh(logits)
        if allowed is not None:
            logits = logits.masked_fill(~allowed, MASKED_LOGIT)
        out = torch.softmax(logits, dim=-1) @ v  # (B, H, L, dh)
        return self.post(out.transpose(1, 2).reshape(batch * length, self.num_heads * self.head_dim))


class InferenceLayer(nn.Module):
    """`TransformerLayer` on rows [B*L, D]; `keep` is [B*L, 1] (0 = padded row) or None."""

    def __init__(self, layer: TransformerLayer) -> None:
        super().__init__()
        self.layer_norm = layer.layer_norm
        self.attention = FusedSelfAttention(layer.self_attention)
        # The feed-forward already runs row-wise ([B*L, D] with a [B*L, 1] keep), so it is reused as is.
        self.ff_layer = layer.ff_layer

    def forward(
        self,
        x: torch.Tensor,
        batch: int,
        length: int,
        allowed: torch.Tensor | None,
        keep: torch.Tensor | None,
    ) -> torch.Tensor:
        x = x + self.attention(self.layer_norm(x), batch, length, allowed)
        return x + self.ff_layer(x, keep)


class InferenceStack(nn.Module):
    """Drop-in for `StackedTransformer.forward(x [B, L, D], paddings [B, L] | None)`."""

    def __init__(self, stack: StackedTransformer) -> None:
        super().__init__()
        self.causal = stack.causal
        self.layers = nn.ModuleList(InferenceLayer(layer) for layer in stack.layers)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor, paddings: torch.Tensor | None = None) -> torch.Tensor:
        batch, length, width = x.shape
        allowed = attention_mask(paddings, length, self.causal)
        keep = None if paddings is None else (1.0 - paddings).to(x.dtype).reshape(batch * length, 1)
        rows = x.reshape(batch * length, width)
        for layer in self.layers:
            rows = layer(rows, batch, length, allowed, keep)
        return rows.reshape(batch, length, width)


class FactoredPooler(nn.Module):
    """Drop-in for `AttentionPooler.forward(tokens [B, L, D])` without key paddings (export never masks)."""

    def __init__(self, pooler: AttentionPooler) -> None:
        super().__init__()
        attention = pooler.pooling_attention
        heads, head_dim = attention.num_heads, attention.head_dim
        width = pooler.pooling_attention_query.shape[-1]
        with torch.no_grad():
            # The per-dimension scale applies within each head, as in MultiHeadAttention.
            query = attention.query(pooler.pooling_attention_query).reshape(heads, head_dim)
            query = query * attention.query_scale()
            key_w = attention.key.weight.reshape(heads, head_dim, width)  # rows of head h: its dh outputs
            # logits[b, h, i] = x_i . key_logit_weight[:, h] + key_logit_bias[h]
            key_logit_weight = torch.einsum("he,hed->dh", query, key_w)
            key_logit_bias = (query * attention.key.bias.reshape(heads, head_dim)).sum(-1)
        self.key_logit_weight = nn.Parameter(key_logit_weight.clone())
        self.key_logit_bias = nn.Parameter(key_logit_bias.clone())
        self.value_weight = nn.Parameter(
            attention.value.weight.detach().reshape(heads, head_dim, width).clone()
        )
        self.value_bias = nn.Parameter(attention.value.bias.detach().reshape(heads, head_dim).clone())
        self.post = attention.post
        self.layer_norm = pooler.pooling_attention_layer_norm

    def forward(self, tokens: torch.Tensor, paddings: torch.Tensor | None = None) -> torch.Tensor:
        if paddings is not None:
            raise ValueError("the export pooler attends over all tokens")
        batch = tokens.shape[0]
        logits = tokens @ self.key_logit_weight + self.key_logit_bias  # (B, L, H)
        probs = torch.softmax(logits, dim=1)
        mixed = probs.transpose(1, 2) @ tokens  # (B, H, D): each head's weighted mean of the tokens
        values = torch.einsum("bhd,hed->bhe", mixed, self.value_weight) + self.value_bias  # (B, H, dh)
        return self.layer_norm(self.post(values.reshape(batch, -1)))


def prepare_for_export(model: ModelT, *, in_place: bool = False) -> ModelT:
    """A deep copy of `model` in eval mode with every stack and pooler replaced by its inference form.
    `in_place`: rewrite `model` itself, for a caller that owns it (a full-size model's copy is ~0.5 GB
    of the export's peak memory)."""
    prepared = (model if in_place else copy.deepcopy(model)).eval()
    for name, module in list(prepared.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, StackedTransformer):
                setattr(module, child_name, InferenceStack(child))
            elif isinstance(child, AttentionPooler):
                setattr(module, child_name, FactoredPooler(child))
        del name
    return prepared
