"""Multi-head attention exactly as the official VideoPrism layers compute it.

Order of operations matters for parity: project (with biases) -> scale the query -> logits -> soft-cap ->
cast to float32 -> mask by *replacement* -> softmax -> weighted sum -> output projection.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# Masked logits are replaced (not offset) by this value, as the official code does. A row whose keys are all
# masked therefore becomes uniform instead of NaN; only padded query rows ever see that.
MASKED_LOGIT = -0.7 * torch.finfo(torch.float32).max
# 1 / softplus(0): with a zero per-dim scale the learned query scaling starts at exactly dh ** -0.5.
_INV_SOFTPLUS_ZERO = 1.442695041


class MultiHeadAttention(nn.Module):
    """Attention from `queries` [B, Tq, D] to `keys_values` [B, Tk, D] -> [B, Tq, D].

    `hidden_dim` is the width of the q/k/v projections (D for self-attention, 4*D for the MAP pooler); heads
    are contiguous chunks of hidden_dim / num_heads. `allowed` is a bool mask broadcastable to
    [B, heads, Tq, Tk] (True = may attend).
    """

    def __init__(
        self,
        width: int,
        num_heads: int,
        hidden_dim: int | None = None,
        logit_cap: float = 0.0,
        learned_query_scale: bool = False,
    ) -> None:
        super().__init__()
        hidden_dim = hidden_dim or width
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim {hidden_dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.head_dim = hidden_dim // num_heads
        self.logit_cap = logit_cap
        self.query = nn.Linear(width, hidden_dim)
        self.key = nn.Linear(width, hidden_dim)
        self.value = nn.Linear(width, hidden_dim)
        self.post = nn.Linear(hidden_dim, width)
        # The pooler learns a per-dimension query scale (shared by heads); self-attention uses dh ** -0.5.
        self.per_dim_scale = nn.Parameter(torch.zeros(self.head_dim)) if learned_query_scale else None

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, L, dh)

    def query_scale(self) -> torch.Tensor | float:
        if self.per_dim_scale is None:
            return self.head_dim**-0.5
        return (_INV_SOFTPLUS_ZERO / math.sqrt(self.head_dim)) * F.softplus(self.per_dim_scale)

    def forward(
        self, queries: torch.Tensor, keys_values: torch.Tensor, allowed: torch.Tensor | None = None
    ) -> torch.Tensor:
        batch, q_len, _ = queries.shape
        q = self._split_heads(self.query(queries)) * self.query_scale()
        k = self._split_heads(self.key(keys_values))
        v = self._split_heads(self.value(keys_values))
        if self.logit_cap <= 0 and allowed is None:
            # Without a cap or mask, fused SDPA computes the same softmax(q k^T) v (q is pre-scaled).
            out = F.scaled_dot_product_attention(q, k, v, scale=1.0)
        else:
            logits = q @ k.transpose(-1, -2)  # (B, H, Tq, Tk)
            if self.logit_cap > 0:
                logits = self.logit_cap * torch.tanh(logits / self.logit_cap)
            logits = logits.float()
            if allowed is not None:
                logits = logits.masked_fill(~allowed, MASKED_LOGIT)
            probs = torch.softmax(logits, dim=-1).to(v.dtype)
            out = probs @ v  # (B, H, Tq, dh)
        out = out.transpose(1, 2).reshape(batch, q_len, self.num_heads * self.head_dim)
        return self.post(out)
