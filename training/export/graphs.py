"""The exact computations a bundle's ONNX graphs run, as small modules around the PyTorch model.

Each wrapper fixes the bundle's calling convention (input/output names, what is normalized) so the
exporter, the parity tests and the benchmark all run the same thing.
"""

from __future__ import annotations

import torch
from torch import nn

from training.model import VideoEncoder, VideoTextModel, l2_normalize
from videoprism_bundle.tensor_names import EMBEDDINGS, TOKENS

# How the [B, D] video embedding is made; recorded in the manifest as `video_pooling`.
POOLING_ATTENTION = "attention_pooler"  # LvT models: auxiliary layers + learned MAP pooler, L2-normalized
POOLING_TOKEN_MEAN = "token_mean"  # video-only encoders: L2-normalized mean of the [B, T*N, D] tokens


class VideoEmbeddingGraph(nn.Module):
    """frames [B, T, S, S, 3] -> embeddings [B, D] (L2-normalized) and, with `with_tokens`, tokens [B, T*N, D].

    A video-text model pools with its contrastive pooler. A video-only encoder has no pooler, so the
    embedding is the L2-normalized token mean: not trained for retrieval, but a usable clip descriptor.
    """

    def __init__(self, model: VideoEncoder | VideoTextModel, with_tokens: bool = False) -> None:
        super().__init__()
        self.model = model
        self.with_tokens = with_tokens

    @property
    def pooling(self) -> str:
        return POOLING_ATTENTION if isinstance(self.model, VideoTextModel) else POOLING_TOKEN_MEAN

    @property
    def output_names(self) -> list[str]:
        return [EMBEDDINGS, TOKENS] if self.with_tokens else [EMBEDDINGS]

    def forward(self, frames: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if isinstance(self.model, VideoTextModel):
            tokens = self.model.vision_encoder(frames)
            embeddings = l2_normalize(self.model.pool_tokens(tokens))
        else:
            tokens = self.model(frames)
            embeddings = l2_normalize(tokens.mean(dim=1))
        return (embeddings, tokens) if self.with_tokens else embeddings


class TextEmbeddingGraph(nn.Module):
    """input_ids int64 [B, L] + paddings float32 [B, L] (1.0 = pad) -> embeddings [B, D], L2-normalized."""

    def __init__(self, model: VideoTextModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, paddings: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(input_ids, paddings)
