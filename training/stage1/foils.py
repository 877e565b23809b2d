"""The contrastive objective that stage 1 and alignment share: pooled video embeddings against the
batch's captions, with its foil captions as extra negatives."""

from __future__ import annotations

import torch

from training.engine.batch import ClipBatch
from training.losses import ContrastiveLoss
from training.model import VideoTextModel, l2_normalize


def foil_embeddings(model: VideoTextModel, batch: ClipBatch) -> torch.Tensor | None:
    """L2-normalised [B * F, D] embeddings of the batch's foils, in its example-major order; None without."""
    if batch.foil_ids is None or batch.foil_paddings is None:
        return None
    return l2_normalize(model.encode_text(batch.foil_ids, batch.foil_paddings, normalize=False).float())


def caption_losses(
    model: VideoTextModel, loss: ContrastiveLoss, video: torch.Tensor, batch: ClipBatch
) -> dict[str, torch.Tensor]:
    """The loss terms of un-normalized video embeddings [B, D] against the batch's captions (and foils)."""
    if batch.token_ids is None or batch.paddings is None:
        raise ValueError("the contrastive loss needs tokenised captions")
    text = l2_normalize(model.encode_text(batch.token_ids, batch.paddings, normalize=False).float())
    return loss(l2_normalize(video.float()), text, foil_embeddings(model, batch))
