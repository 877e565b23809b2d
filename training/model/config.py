"""Typed model configurations and the named presets.

Every size the official checkpoints carry is a field here, so a converter can read a config off an `.npz`
and a checkpoint can store the resolved config next to its weights and rebuild the model from it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class VideoEncoderConfig:
    """The factorized video encoder (spatial ViT per frame, then a temporal transformer per patch)."""

    patch_size: int = 18  # square spatial patches; no tubelets (temporal patch 1)
    pos_grid: int = 16  # learned spatial positions form a pos_grid x pos_grid table
    num_frames: int = 16  # learned temporal positions (T0); other frame counts are interpolated
    image_size: int = 288  # default input side; any multiple of patch_size works
    width: int = 768
    num_heads: int = 12
    mlp_dim: int = 3072
    num_spatial_layers: int = 12
    num_temporal_layers: int = 4
    atten_logit_cap: float = 50.0  # soft-cap of self-attention logits; 0 disables it
    # "linear": the official patchify + linear projection. "conv": log2(patch_size) stride-2 3x3
    # convolutions down to the same token grid (a convolutional stem, Xiao et al. 2021), an option for
    # small from-scratch models. "conv4": a 4x4 stride-4 convolution, then stride-2 3x3 ones: the same
    # grid at about a quarter of "conv"'s stem cost, but it learns motion slower per step: about even with
    # "conv" per unit of time (docs/results.md). Official checkpoints are always "linear".
    patch_stem: Literal["linear", "conv", "conv4"] = "linear"
    # Frames the first layer of a conv stem sees, centred on its own (edge frames repeated): with 3, each
    # token carries its patch's local motion, whose direction the per-patch temporal transformer otherwise
    # has to infer from where the object sits inside a 16x16 patch over time (docs/results.md). 1: per frame.
    stem_frames: int = 1

    def __post_init__(self) -> None:
        if self.width % self.num_heads:
            raise ValueError(f"width {self.width} is not divisible by num_heads {self.num_heads}")
        if self.patch_stem not in ("linear", "conv", "conv4"):
            raise ValueError(f"patch_stem must be 'linear', 'conv' or 'conv4', got {self.patch_stem!r}")
        if self.patch_stem != "linear" and (self.patch_size < 4 or self.patch_size & (self.patch_size - 1)):
            raise ValueError(f"a conv patch stem needs a power-of-two patch_size >= 4, got {self.patch_size}")
        if self.stem_frames < 1 or self.stem_frames % 2 == 0:
            raise ValueError(f"stem_frames must be a positive odd number, got {self.stem_frames}")
        if self.stem_frames > 1 and self.patch_stem == "linear":
            raise ValueError("stem_frames > 1 needs a convolutional patch_stem ('conv' or 'conv4')")
        if self.image_size % self.patch_size:
            raise ValueError(
                f"image_size {self.image_size} is not a multiple of patch_size {self.patch_size}"
            )

    @property
    def tokens_per_frame(self) -> int:
        return (self.image_size // self.patch_size) ** 2


@dataclass(frozen=True)
class TextEncoderConfig:
    """The CoCa-style causal text tower of the LvT models (class token appended at the end)."""

    vocab_size: int = 32_000
    width: int = 768
    num_heads: int = 12
    num_layers: int = 12
    mlp_dim: int = 3072  # the official tower hard-wires 4 * width
    max_length: int = 64  # tokenizer length, without the class token
    atten_logit_cap: float = 50.0


@dataclass(frozen=True)
class VideoTextConfig:
    """The video-text ("LvT") model: encoder + auxiliary layers + MAP pooler, and a text tower."""

    video: VideoEncoderConfig = field(default_factory=VideoEncoderConfig)
    text: TextEncoderConfig = field(default_factory=TextEncoderConfig)
    num_auxiliary_layers: int = 2
    pooler_hidden_multiplier: int = 4  # pooler attention width = multiplier * width (official: 4)

    def __post_init__(self) -> None:
        if self.text.width != self.video.width:
            raise ValueError("the video and text towers must share one width (one embedding space)")


ModelConfig = VideoEncoderConfig | VideoTextConfig


def config_to_dict(config: ModelConfig) -> dict[str, Any]:
    """JSON-ready dict that records which class it came from, so `config_from_dict` can rebuild it."""
    return {"kind": type(config).__name__, **dataclasses.asdict(config)}


def config_from_dict(data: dict[str, Any]) -> ModelConfig:
    data = dict(data)
    kind = data.pop("kind")
    if kind == "VideoEncoderConfig":
        return VideoEncoderConfig(**data)
    if kind == "VideoTextConfig":
        return VideoTextConfig(
            video=VideoEncoderConfig(**data["video"]),
            text=TextEncoderConfig(**data["text"]),
            num_auxiliary_layers=data["num_auxiliary_layers"],
            pooler_hidden_multiplier=data["pooler_hidden_multiplier"],
        )
    raise ValueError(f"unknown config kind {kind!r}")


def _video(**overrides: Any) -> VideoEncoderConfig:
    return dataclasses.replace(VideoEncoderConfig(), **overrides)


_BASE = _video()
_LARGE = _video(num_frames=8, width=1024, num_heads=16, mlp_dim=4096, num_spatial_layers=24)
# tiny: the demo model's shape, sized for training and serving on a 2-core CPU. 8 frames of 64x64 in 16x16
# patches = 128 tokens per clip: against 8x8 patches (512 tokens) stage 1 trains 3.5x more clips per second
# and reaches a higher held-out recall after the same number of steps (an object of the synthetic world
# then covers one to four of the 16 patches of a frame instead of a few percent of 64). No logit cap: a
# from-scratch model this small never nears the official cap of 50, and without it attention runs as one
# fused scaled-dot-product kernel instead of materialised logits passed through tanh (docs/results.md).
_TINY = _video(
    patch_size=16, pos_grid=4, num_frames=8, image_size=64, width=96, num_heads=3, mlp_dim=384,
    num_spatial_layers=4, num_temporal_layers=2, atten_logit_cap=0.0,
)  # fmt: skip
_SMALL = _video(
    patch_size=16, pos_grid=14, num_frames=8, image_size=224, width=384, num_heads=6, mlp_dim=1536,
    num_spatial_layers=8, num_temporal_layers=4,
)  # fmt: skip


def _lvt(
    video: VideoEncoderConfig, text_layers: int, vocab: int, max_length: int = 64, aux: int = 2
) -> VideoTextConfig:
    text = TextEncoderConfig(
        vocab_size=vocab,
        width=video.width,
        num_heads=video.num_heads,
        num_layers=text_layers,
        mlp_dim=4 * video.width,
        max_length=max_length,
        atten_logit_cap=video.atten_logit_cap,
    )
    return VideoTextConfig(video=video, text=text, num_auxiliary_layers=aux)


presets: dict[str, ModelConfig] = {
    "tiny": _lvt(_TINY, text_layers=2, vocab=512, max_length=24, aux=1),
    "small": _lvt(_SMALL, text_layers=6, vocab=32_000),
    "base": _BASE,
    "large": _LARGE,
    "lvt_base": _lvt(_BASE, text_layers=12, vocab=32_000),
    "lvt_large": _lvt(_LARGE, text_layers=12, vocab=32_000),
}
