"""The video-text ("LvT") model: video encoder + auxiliary layers + MAP pooler, and a text tower."""

from __future__ import annotations

import torch
from torch import nn

from training.model.config import VideoTextConfig
from training.model.layers import init_linear_, tower_stack
from training.model.pooler import AttentionPooler
from training.model.text_encoder import TextEncoder
from training.model.video_encoder import VideoEncoder


def l2_normalize(x: torch.Tensor) -> torch.Tensor:
    """x / sqrt(sum(x^2) + 1e-12) in float32: the epsilon sits inside the root, as in the official code."""
    x32 = x.float()
    return (x32 * torch.rsqrt((x32 * x32).sum(dim=-1, keepdim=True) + 1e-12)).to(x.dtype)


class VideoTextModel(nn.Module):
    """CLIP-style two-tower model whose towers share the embedding width D."""

    def __init__(self, config: VideoTextConfig) -> None:
        super().__init__()
        self.config = config
        video = config.video
        self.vision_encoder = VideoEncoder(video)
        # Full attention over all T*N tokens, no padding mask and no final LayerNorm (official LvT layout).
        self.auxiliary_encoder = tower_stack(video, config.num_auxiliary_layers, "gelu")
        self.contrastive_vision_pooler = AttentionPooler(
            video.width, video.num_heads, hidden_dim=config.pooler_hidden_multiplier * video.width
        )
        self.text_encoder = TextEncoder(config.text)
        init_linear_(self.auxiliary_encoder)

    def pool_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Encoder tokens [B, T*N, D] -> un-normalized video embedding [B, D] (auxiliary layers + pooler)."""
        return self.contrastive_vision_pooler(self.auxiliary_encoder(tokens))

    def forward_video_intermediates(
        self, frames: torch.Tensor, frame_paddings: torch.Tensor | None = None, normalize: bool = True
    ) -> dict[str, torch.Tensor]:
        """-> `video_embeddings` [B, D], `frame_embeddings` [B, T, D], `spatial_features` and
        `spatiotemporal_features` [B, T*N, D]. Frame paddings reach the encoder only, as officially."""
        feats = self.vision_encoder.forward_intermediates(frames, frame_paddings)
        aux = self.auxiliary_encoder(feats["spatiotemporal_features"])  # (B, T*N, D)
        video = self.contrastive_vision_pooler(aux)
        batch, time = frames.shape[:2]
        per_frame = aux.reshape(batch * time, -1, aux.shape[-1])  # (B*T, N, D)
        frame_emb = self.contrastive_vision_pooler(per_frame).reshape(batch, time, -1)
        if normalize:
            video, frame_emb = l2_normalize(video), l2_normalize(frame_emb)
        return {**feats, "video_embeddings": video, "frame_embeddings": frame_emb}

    def encode_video(
        self, frames: torch.Tensor, frame_paddings: torch.Tensor | None = None, normalize: bool = True
    ) -> torch.Tensor:
        """frames [B, T, H, W, 3] in [0, 1] -> [B, D]."""
        video = self.pool_tokens(self.vision_encoder(frames, frame_paddings))
        return l2_normalize(video) if normalize else video

    def encode_text(
        self, token_ids: torch.Tensor, paddings: torch.Tensor, normalize: bool = True
    ) -> torch.Tensor:
        """token_ids [B, L] int, paddings [B, L] (1.0 = pad) -> [B, D]."""
        text = self.text_encoder(token_ids, paddings)
        return l2_normalize(text) if normalize else text

    def forward(
        self, frames: torch.Tensor, token_ids: torch.Tensor, paddings: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode_video(frames), self.encode_text(token_ids, paddings)
