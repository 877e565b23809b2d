"""Batched, no-grad embedding of evaluation sets with a trained model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from training.model import VideoEncoder, VideoTextModel, l2_normalize
from videoprism_bundle.tokenizer import TextTokenizer


def _by_batch(
    frames: npt.NDArray[np.uint8], batch: int, encode: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """`encode` on `batch` clips at a time, as float [0, 1] pixels; the outputs concatenated."""
    out = []
    for start in range(0, len(frames), batch):
        out.append(encode(torch.from_numpy(frames[start : start + batch]).float() / 255.0))
    return torch.cat(out)


@torch.no_grad()
def encode_tokens(encoder: VideoEncoder, frames: npt.NDArray[np.uint8], batch: int = 32) -> torch.Tensor:
    """uint8 clips [N, T, H, W, 3] -> encoder tokens [N, T*N_p, D] (float16 to keep probe sets in memory)."""
    encoder.eval()
    return _by_batch(frames, batch, lambda clip: encoder(clip).half())


@torch.no_grad()
def encode_videos(model: VideoTextModel, frames: npt.NDArray[np.uint8], batch: int = 32) -> torch.Tensor:
    model.eval()
    return _by_batch(frames, batch, model.encode_video)


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
