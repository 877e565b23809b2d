"""The stage-2 student: video encoder on visible tokens, a token-wise decoder and a global decoder."""

from __future__ import annotations

import torch
from torch import nn

from training.masking import Masking, gather_tokens, shuffle_tokens
from training.model import AttentionPooler, VideoEncoder
from training.model.layers import StackedTransformer, layer_norm


class TokenDecoder(nn.Module):
    """Visible tokens + [MASK] fill -> (optionally per-sample shuffled) full sequence -> positions added in
    slot order -> transformer -> teacher-width prediction for slot j = the teacher's token at position j."""

    def __init__(self, width: int, dec_width: int, layers: int, heads: int, length: int) -> None:
        super().__init__()
        self.proj_in = nn.Linear(width, dec_width)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dec_width))
        self.pos_emb = nn.Parameter(torch.zeros(1, length, dec_width))
        self.decoder = StackedTransformer(layers, dec_width, heads, 4 * dec_width)
        self.ln = layer_norm(dec_width)
        self.proj_out = nn.Linear(dec_width, width)
        nn.init.normal_(self.mask_token, std=0.02)
        nn.init.normal_(self.pos_emb, std=0.02)

    def forward(self, visible: torch.Tensor, masking: Masking, perm: torch.Tensor | None) -> torch.Tensor:
        """visible [B, K, D]; perm [B, L] or None (no shuffle: every token stays at its own position)."""
        x = self.proj_in(visible)
        batch, kept, width = x.shape
        length = masking.ids_restore.shape[1]
        fill = self.mask_token.to(x.dtype).expand(batch, length - kept, width)
        in_grid_order = gather_tokens(torch.cat([x, fill], dim=1), masking.ids_restore)
        seq = in_grid_order if perm is None else shuffle_tokens(in_grid_order, perm)
        seq = seq + self.pos_emb.to(seq.dtype)  # after the shuffle: slot j is told "you are position j"
        return self.proj_out(self.ln(self.decoder(seq)))


class GlobalDecoder(nn.Module):
    """Visible tokens (no mask tokens, no shuffle, no positions) -> transformer -> MAP -> [B, D]."""

    def __init__(self, width: int, dec_width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.proj_in = nn.Linear(width, dec_width)
        self.decoder = StackedTransformer(layers, dec_width, heads, 4 * dec_width)
        self.pooler = AttentionPooler(dec_width, heads, hidden_dim=dec_width)
        self.proj_out = nn.Linear(dec_width, width)

    def forward(self, visible: torch.Tensor) -> torch.Tensor:
        return self.proj_out(self.pooler(self.decoder(self.proj_in(visible))))


class Stage2Model(nn.Module):
    """Everything stage 2 trains. The encoder is what survives; the decoders are thrown away."""

    def __init__(
        self,
        encoder: VideoEncoder,
        num_tokens: int,
        dec_width: int,
        dec_layers: int,
        dec_heads: int,
        token_branch: bool = True,
        global_branch: bool = True,
    ) -> None:
        super().__init__()
        if not (token_branch or global_branch):
            raise ValueError("stage 2 needs at least one of the token-wise and global branches")
        width = encoder.config.width
        self.encoder = encoder
        self.token_decoder = (
            TokenDecoder(width, dec_width, dec_layers, dec_heads, num_tokens) if token_branch else None
        )
        self.global_decoder = (
            GlobalDecoder(width, dec_width, dec_layers, dec_heads) if global_branch else None
        )

    def forward(
        self, frames: torch.Tensor, masking: Masking, perm: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """-> (token predictions [B, L, D] in slot order, global prediction [B, D]); None if disabled."""
        batch, time = frames.shape[:2]
        tokens = self.encoder(frames, token_paddings=masking.mask.reshape(batch, time, -1))
        visible = gather_tokens(tokens, masking.ids_keep)  # (B, K, D): the student saw only these
        token_pred = None if self.token_decoder is None else self.token_decoder(visible, masking, perm)
        global_pred = None if self.global_decoder is None else self.global_decoder(visible)
        return token_pred, global_pred
