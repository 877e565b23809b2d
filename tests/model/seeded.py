"""Model builders the model and export tests share."""

from __future__ import annotations

import torch

from training.model import VideoEncoder, VideoEncoderConfig


def seeded_encoder(config: VideoEncoderConfig, seed: int = 0) -> VideoEncoder:
    """A `VideoEncoder` in eval mode whose initial weights are drawn after seeding torch with `seed`."""
    torch.manual_seed(seed)
    return VideoEncoder(config).eval()
