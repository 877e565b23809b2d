"""The VideoPrism architecture in PyTorch (public API: the names exported here).

- `VideoEncoder(config)`: frames [B, T, H, W, 3] in [0, 1] -> tokens [B, T*N, D].
- `VideoTextModel(config)`: `encode_video` / `encode_text` -> [B, D] embeddings.
- `presets`: preset name -> config (`tiny`, `small`, `base`, `large`, `lvt_base`, `lvt_large`).
"""

from training.model.config import (
    ModelConfig,
    TextEncoderConfig,
    VideoEncoderConfig,
    VideoTextConfig,
    config_from_dict,
    config_to_dict,
    presets,
)
from training.model.pooler import AttentionPooler
from training.model.text_encoder import TextEncoder
from training.model.video_encoder import VideoEncoder
from training.model.video_text import VideoTextModel, l2_normalize

__all__ = [
    "AttentionPooler",
    "ModelConfig",
    "TextEncoder",
    "TextEncoderConfig",
    "VideoEncoder",
    "VideoEncoderConfig",
    "VideoTextConfig",
    "VideoTextModel",
    "build_model",
    "config_from_dict",
    "config_to_dict",
    "l2_normalize",
    "presets",
]


def build_model(config: ModelConfig) -> VideoEncoder | VideoTextModel:
    """The model class a config describes."""
    return VideoTextModel(config) if isinstance(config, VideoTextConfig) else VideoEncoder(config)
