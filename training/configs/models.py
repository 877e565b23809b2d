"""Model shapes used by the configs beyond the library presets."""

from __future__ import annotations

from training.model import TextEncoderConfig, VideoEncoderConfig, VideoTextConfig


def micro() -> VideoTextConfig:
    """A few-thousand-parameter model for tests: 4 frames of 32x32 in 8x8 patches (4x4 grid), width 32."""
    video = VideoEncoderConfig(
        patch_size=8, pos_grid=4, num_frames=4, image_size=32, width=32, num_heads=2, mlp_dim=64,
        num_spatial_layers=1, num_temporal_layers=1,
    )  # fmt: skip
    text = TextEncoderConfig(vocab_size=64, width=32, num_heads=2, num_layers=1, mlp_dim=128, max_length=8)
    return VideoTextConfig(video=video, text=text, num_auxiliary_layers=1)
