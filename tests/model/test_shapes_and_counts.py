"""Output shapes of every preset and the exact parameter counts of the released checkpoints."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import pytest
import torch

from tests.model.seeded import seeded_encoder
from training.model import (
    VideoEncoder,
    VideoEncoderConfig,
    VideoTextConfig,
    VideoTextModel,
    build_model,
    presets,
)
from training.model.video_encoder import _neighbour_frames

OFFICIAL_PARAMETER_COUNTS = {
    "base": 114_365_184,
    "large": 353_965_056,
    "lvt_base": 247_623_424,
    "lvt_large": 579_877_120,
}


@pytest.mark.parametrize("name", sorted(OFFICIAL_PARAMETER_COUNTS))
def test_released_presets_have_the_official_parameter_count(name: str) -> None:
    with torch.device("meta"):
        model = build_model(presets[name])
    assert sum(p.numel() for p in model.parameters()) == OFFICIAL_PARAMETER_COUNTS[name]


@pytest.mark.parametrize("name", sorted(presets))
def test_every_preset_produces_the_documented_shapes(name: str) -> None:
    config = presets[name]
    video = config.video if isinstance(config, VideoTextConfig) else config
    small = name in ("tiny",)
    device = torch.device("cpu") if small else torch.device("meta")
    batch, frames = 2, video.num_frames
    with device:
        model = build_model(config).eval()
        x = torch.rand(batch, frames, video.image_size, video.image_size, 3)
    tokens_per_frame = (video.image_size // video.patch_size) ** 2
    with torch.no_grad():
        if isinstance(model, VideoTextModel):
            assert isinstance(config, VideoTextConfig)
            tokens = model.vision_encoder(x)
            emb = model.encode_video(x)
            ids = torch.zeros(batch, config.text.max_length, dtype=torch.long, device=device)
            pads = torch.zeros(batch, config.text.max_length, device=device)
            text = model.encode_text(ids, pads)
            assert emb.shape == (batch, video.width)
            assert text.shape == (batch, video.width)
        else:
            assert isinstance(model, VideoEncoder)
            tokens = model(x)
    assert tokens.shape == (batch, frames * tokens_per_frame, video.width)


def test_intermediates_are_named_and_time_major() -> None:
    config = VideoEncoderConfig(
        patch_size=4, pos_grid=2, num_frames=3, image_size=8, width=16, num_heads=2, mlp_dim=32,
        num_spatial_layers=1, num_temporal_layers=1,
    )  # fmt: skip
    encoder = seeded_encoder(config)
    frames = torch.rand(1, 3, 8, 8, 3)
    with torch.no_grad():
        out = encoder.forward_intermediates(frames)
        # Changing only frame 1 may change temporal outputs everywhere, but spatial features only in
        # positions t*N + n with t == 1: that pins the time-major order.
        changed = frames.clone()
        changed[:, 1] = torch.rand(1, 8, 8, 3)
        out2 = encoder.forward_intermediates(changed)
    assert set(out) >= {"spatial_features", "spatiotemporal_features"}
    diff = (out["spatial_features"] - out2["spatial_features"]).abs().amax(dim=-1)[0]  # (T*N,)
    n = 4
    assert torch.all(diff[:n] == 0) and torch.all(diff[2 * n :] == 0)
    assert torch.all(diff[n : 2 * n] > 0)


def test_encoder_rejects_non_square_and_misaligned_frames() -> None:
    encoder = VideoEncoder(presets["tiny"].video)  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="square"):
        encoder(torch.rand(1, 2, 64, 48, 3))
    with pytest.raises(ValueError, match="multiple of the patch size"):
        encoder(torch.rand(1, 2, 60, 60, 3))


def test_conv_patch_stem_keeps_the_token_grid_and_survives_a_checkpoint(tmp_path: Path) -> None:
    from training.checkpoint import load_model_checkpoint, save_model_checkpoint

    base = presets["tiny"]
    assert isinstance(base, VideoTextConfig)
    config = dataclasses.replace(base.video, patch_stem="conv", num_spatial_layers=1, num_temporal_layers=1)
    encoder = seeded_encoder(config)
    frames = torch.rand(2, 8, 64, 64, 3)
    with torch.no_grad():
        tokens = encoder(frames)
    assert tokens.shape == (2, 8 * 16, config.width)
    save_model_checkpoint(tmp_path / "ckpt", encoder)
    restored = load_model_checkpoint(tmp_path / "ckpt")
    assert isinstance(restored, VideoEncoder) and restored.config.patch_stem == "conv"
    with torch.no_grad():
        torch.testing.assert_close(restored(frames), tokens)
    with pytest.raises(ValueError, match="multiple of the patch size"):
        encoder(torch.rand(1, 2, 60, 60, 3))
    with pytest.raises(ValueError, match="power-of-two"):
        dataclasses.replace(config, patch_size=12, image_size=48)


def test_a_three_frame_stem_sees_its_neighbours_and_only_them() -> None:
    """Changing frame 5 changes the stem output of frames 4-6 only; the edge frames repeat themselves."""
    base = presets["tiny"]
    assert isinstance(base, VideoTextConfig)
    config = dataclasses.replace(
        base.video, patch_stem="conv", stem_frames=3, num_spatial_layers=1, num_temporal_layers=1
    )
    stem = seeded_encoder(config).patch_projection
    frames = torch.rand(1, 8, 64, 64, 3)
    changed = frames.clone()
    changed[:, 5] = torch.rand(64, 64, 3)
    with torch.no_grad():
        diff = (stem(changed) - stem(frames)).abs().reshape(8, -1).amax(dim=1)
    assert [t for t in range(8) if diff[t] > 0] == [4, 5, 6]

    clip = torch.arange(4.0).reshape(1, 4, 1)
    shifted = [t.flatten().tolist() for t in _neighbour_frames(clip, 2)]
    assert shifted == [[0, 0, 0, 1], [0, 0, 1, 2], [0, 1, 2, 3], [1, 2, 3, 3], [2, 3, 3, 3]]
    single = torch.ones(1, 1, 2)
    assert all(torch.equal(t, single) for t in _neighbour_frames(single, 1))
    with pytest.raises(ValueError, match="odd"):
        dataclasses.replace(config, stem_frames=2)
    with pytest.raises(ValueError, match="convolutional"):
        dataclasses.replace(config, patch_stem="linear")


@pytest.mark.parametrize("stem", ["linear", "conv"])
def test_keeping_patches_equals_masking_the_others_out(stem: Literal["linear", "conv"]) -> None:
    """The compute-saving tube drop (`keep_patches`) gives the padded encoder's tokens at the kept
    positions, frame by frame, with a different pattern per clip."""
    base = presets["tiny"]
    assert isinstance(base, VideoTextConfig)
    config = dataclasses.replace(base.video, patch_stem=stem, num_spatial_layers=2, num_temporal_layers=2)
    encoder = seeded_encoder(config)
    frames = torch.rand(2, 8, 64, 64, 3)
    keep = torch.tensor([[0, 3, 5, 6, 9, 10, 12, 15], [1, 2, 4, 7, 8, 11, 13, 14]])
    hidden = torch.ones(2, 16)
    hidden.scatter_(1, keep, 0.0)
    with torch.no_grad():
        kept = encoder(frames, keep_patches=keep)
        padded = encoder(frames, token_paddings=hidden[:, None, :].expand(2, 8, 16))
    assert kept.shape == (2, 8 * 8, config.width)
    expected = padded.reshape(2, 8, 16, -1)[torch.arange(2)[:, None], :, keep].transpose(1, 2)
    torch.testing.assert_close(kept, expected.reshape(2, 64, -1), atol=1e-5, rtol=1e-5)
