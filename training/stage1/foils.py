"""The text embeddings of a batch's foil captions, for the contrastive loss of stage 1 and alignment."""

from __future__ import annotations

import torch

from training.engine.batch import ClipBatch
from training.model import VideoTextModel, l2_normalize


def foil_embeddings(model: VideoTextModel, batch: ClipBatch) -> torch.Tensor | None:
    """L2-normalised [B * F, D] embeddings of the batch's foils, in its example-major order; None without."""
    if batch.foil_ids is None or batch.foil_paddings is None:
        return None
    return l2_normalize(model.encode_text(batch.foil_ids, batch.foil_paddings, normalize=False).float())
