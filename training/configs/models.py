"""Model shapes used by the configs beyond the library presets."""

from __future__ import annotations

from training.model import TextEncoderConfig, VideoEncoderConfig, VideoTextConfig


def micro(num_frames: int = 4, image_size: int = 32) -> VideoTextConfig:
    """A few-thousand-parameter model for tests: by default 4 frames of 32x32 in a 4x4 patch grid, width 32;
    `micro(8, 64)` takes the synthetic world's 8x64x64 clips with the same 4x4 grid."""
    video = VideoEncoderConfig(
        patch_size=image_size // 4, pos_grid=4, num_frames=num_frames, image_size=image_size, width=32,
        num_heads=2, mlp_dim=64,
        num_spatial_layers=1, num_temporal_layers=1,
    )  # fmt: skip
    text = TextEncoderConfig(vocab_size=64, width=32, num_heads=2, num_layers=1, mlp_dim=128, max_length=8)
    return VideoTextConfig(video=video, text=text, num_auxiliary_layers=1)
