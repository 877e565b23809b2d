"""Batched, no-grad embedding of evaluation sets with a trained model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from training.model import VideoEncoder, VideoTextModel, l2_normalize
from videoprism_bundle.tokenizer import TextTokenizer


@torch.no_grad()
def encode_tokens(encoder: VideoEncoder, frames: npt.NDArray[np.uint8], batch: int = 32) -> torch.Tensor:
    """uint8 clips [N, T, H, W, 3] -> encoder tokens [N, T*N_p, D] (float16 to keep probe sets in memory)."""
    encoder.eval()
    out = []
    for start in range(0, len(frames), batch):
        clip = torch.from_numpy(frames[start : start + batch]).float() / 255.0
        out.append(encoder(clip).half())
    return torch.cat(out)


@torch.no_grad()
def encode_videos(model: VideoTextModel, frames: npt.NDArray[np.uint8], batch: int = 32) -> torch.Tensor:
    model.eval()
    out = []
    for start in range(0, len(frames), batch):
        clip = torch.from_numpy(frames[start : start + batch]).float() / 255.0
        out.append(model.encode_video(clip))
    return torch.cat(out)


@torch.no_grad()
def encode_texts(
    model: VideoTextModel, texts: Sequence[str], tokenizer_file: Path, batch: int = 128
) -> torch.Tensor:
    model.eval()
    tokenizer = TextTokenizer(tokenizer_file, max_length=model.config.text.max_length)
    out = []
    for start in range(0, len(texts), batch):
        tokens = tokenizer.encode_batch(list(texts[start : start + batch]))
        ids, pads = torch.from_numpy(tokens.ids), torch.from_numpy(tokens.paddings)
        out.append(l2_normalize(model.encode_text(ids, pads, normalize=False)))
    return torch.cat(out)
