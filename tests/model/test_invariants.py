"""Behavioural invariants of the model: gradients, position resizing, padding semantics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from training.model import (
    TextEncoderConfig,
    VideoEncoder,
    VideoEncoderConfig,
    VideoTextConfig,
    VideoTextModel,
    presets,
)
from training.model.position import linear_resize_matrix, resize_spatial, resize_temporal

SMALL_VIDEO = VideoEncoderConfig(
    patch_size=4, pos_grid=4, num_frames=4, image_size=16, width=24, num_heads=2, mlp_dim=40,
    num_spatial_layers=2, num_temporal_layers=2, atten_logit_cap=5.0,
)  # fmt: skip
SMALL_LVT = VideoTextConfig(
    video=SMALL_VIDEO,
    text=TextEncoderConfig(vocab_size=50, width=24, num_heads=2, num_layers=2, mlp_dim=96, max_length=7,
                           atten_logit_cap=5.0),
    num_auxiliary_layers=1,
)  # fmt: skip


def test_gradients_reach_every_parameter_of_tiny() -> None:
    torch.manual_seed(0)
    config = presets["tiny"]
    assert isinstance(config, VideoTextConfig)
    model = VideoTextModel(config)
    frames = torch.rand(2, config.video.num_frames, config.video.image_size, config.video.image_size, 3)
    ids = torch.randint(1, config.text.vocab_size, (2, config.text.max_length))
    pads = torch.zeros(2, config.text.max_length)
    video, text = model(frames, ids, pads)
    (video @ text.T).diagonal().sum().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    # Token rows never looked up legitimately get no gradient; everything else must.
    assert missing == ["text_encoder.token_emb.weight"] or missing == []
    assert model.text_encoder.token_emb.weight.grad is not None


@pytest.mark.parametrize(
    ("old", "new"), [(16, 10), (16, 20), (16, 8), (4, 2), (4, 6), (8, 3), (8, 1), (1, 4)]
)
def test_resize_matrix_matches_antialiased_bilinear(old: int, new: int) -> None:
    table = torch.randn(old, 5, dtype=torch.float64)
    reference = F.interpolate(
        table.T[None, None], size=(5, new), mode="bilinear", align_corners=False, antialias=True
    )[0, 0].T
    ours = torch.from_numpy(linear_resize_matrix(old, new)) @ table
    torch.testing.assert_close(ours, reference, atol=1e-12, rtol=0)


def test_downsampling_is_antialiased_not_plain_bilinear() -> None:
    table = torch.randn(16, 3, dtype=torch.float64)
    plain = F.interpolate(table.T[None], size=8, mode="linear", align_corners=False)[0].T
    ours = resize_temporal(table, 8)
    assert (ours - plain).abs().max() > 1e-3  # the gotcha official.md measures: plain resize is wrong here
    np.testing.assert_allclose(linear_resize_matrix(16, 8).sum(axis=1), np.ones(8))  # weights stay normalised


def test_spatial_resize_is_separable_2d_antialiased_resize() -> None:
    table = torch.randn(16 * 16, 4, dtype=torch.float64)
    ours = resize_spatial(table, 16, 10, 10)
    grid = table.reshape(16, 16, 4).permute(2, 0, 1)[None]
    reference = F.interpolate(grid, size=(10, 10), mode="bilinear", align_corners=False, antialias=True)
    torch.testing.assert_close(ours, reference[0].permute(1, 2, 0).reshape(100, 4), atol=1e-12, rtol=0)


@pytest.mark.parametrize(("frames", "side"), [(2, 16), (6, 24), (4, 8), (1, 16)])
def test_encoder_runs_at_other_frame_counts_and_sizes(frames: int, side: int) -> None:
    encoder = VideoEncoder(SMALL_VIDEO).eval()
    with torch.no_grad():
        out = encoder(torch.rand(2, frames, side, side, 3))
    assert out.shape == (2, frames * (side // 4) ** 2, 24)
    assert torch.isfinite(out).all()


def test_frame_paddings_leave_valid_tokens_unchanged_when_padded_frames_change() -> None:
    torch.manual_seed(1)
    encoder = VideoEncoder(SMALL_VIDEO).eval()
    frames = torch.rand(2, 4, 16, 16, 3)
    paddings = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]])
    altered = frames.clone()
    altered[0, 2:] = torch.rand(2, 16, 16, 3)
    altered[1, 1] = torch.rand(16, 16, 3)
    altered[1, 3] = 0.0
    with torch.no_grad():
        a = encoder(frames, paddings).reshape(2, 4, 16, 24)
        b = encoder(altered, paddings).reshape(2, 4, 16, 24)
        unpadded = encoder(frames).reshape(2, 4, 16, 24)
    valid = paddings == 0
    torch.testing.assert_close(a[valid], b[valid], atol=1e-6, rtol=0)
    assert (a[valid] - unpadded[valid]).abs().max() > 1e-4  # the padding really masked something


def test_token_paddings_generalise_frame_paddings() -> None:
    torch.manual_seed(2)
    encoder = VideoEncoder(SMALL_VIDEO).eval()
    frames = torch.rand(1, 4, 16, 16, 3)
    frame_pad = torch.tensor([[0.0, 1.0, 0.0, 0.0]])
    with torch.no_grad():
        by_frame = encoder(frames, frame_paddings=frame_pad)
        by_token = encoder(frames, token_paddings=frame_pad[:, :, None].expand(1, 4, 16))
    torch.testing.assert_close(by_frame, by_token)


def test_text_embedding_ignores_padding_content_and_length() -> None:
    torch.manual_seed(3)
    model = VideoTextModel(SMALL_LVT).eval()
    ids = torch.tensor([[5, 6, 7, 0, 0, 0, 0]])
    pads = torch.tensor([[0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]])
    garbage = ids.clone()
    garbage[0, 3:] = torch.tensor([9, 13, 2, 44])
    with torch.no_grad():
        a = model.encode_text(ids, pads)
        b = model.encode_text(garbage, pads)
        short = model.encode_text(ids[:, :4], pads[:, :4])  # fewer pad slots, same text
        unpadded = model.encode_text(garbage, torch.zeros_like(pads))
    torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    torch.testing.assert_close(a, short, atol=1e-6, rtol=0)
    assert (a - unpadded).abs().max() > 1e-4


def test_embeddings_are_unit_norm_and_unnormalized_ones_are_not() -> None:
    torch.manual_seed(4)
    model = VideoTextModel(SMALL_LVT).eval()
    frames = torch.rand(3, 4, 16, 16, 3)
    with torch.no_grad():
        emb = model.encode_video(frames)
        raw = model.encode_video(frames, normalize=False)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(emb, raw / raw.norm(dim=-1, keepdim=True), atol=1e-6, rtol=0)
    assert not torch.allclose(raw.norm(dim=-1), torch.ones(3), atol=1e-2)


def test_logit_cap_changes_outputs_only_when_logits_are_large() -> None:
    torch.manual_seed(5)
    capped = VideoEncoder(SMALL_VIDEO).eval()
    uncapped_cfg = VideoEncoderConfig(**{**SMALL_VIDEO.__dict__, "atten_logit_cap": 0.0})
    uncapped = VideoEncoder(uncapped_cfg).eval()
    uncapped.load_state_dict(capped.state_dict())
    frames = torch.rand(1, 4, 16, 16, 3)
    with torch.no_grad():
        small_diff = (capped(frames) - uncapped(frames)).abs().max()
        for module in capped.modules():  # blow up the logits so tanh saturates
            if isinstance(module, torch.nn.Linear) and module.out_features == 24 and module.in_features == 24:
                module.weight.mul_(30)
        uncapped.load_state_dict(capped.state_dict())
        big_diff = (capped(frames) - uncapped(frames)).abs().max()
    assert big_diff > 10 * small_diff


def test_sharpened_pooler_starts_with_uneven_attention_and_a_scaled_query() -> None:
    from training.model import AttentionPooler

    torch.manual_seed(0)
    width, heads, length = 48, 3, 64
    tokens = F.layer_norm(torch.randn(16, length, width), (width,))

    @torch.no_grad()
    def attention_entropy(pooler: AttentionPooler) -> float:
        mha = pooler.pooling_attention
        q = mha._split_heads(mha.query(pooler.pooling_attention_query[None].expand(16, -1, -1)))
        k = mha._split_heads(mha.key(tokens))
        probs = torch.softmax((q * mha.query_scale()) @ k.transpose(-1, -2), dim=-1)
        return float(-(probs * probs.clamp_min(1e-12).log()).sum(-1).mean())

    official = AttentionPooler(width, heads, hidden_dim=4 * width)
    sharp = AttentionPooler(width, heads, hidden_dim=4 * width)
    sharp.sharpen_init(logit_gain=8.0)
    # The official init is a near-uniform mean over all tokens (entropy ~ ln L); the sharp one is not.
    assert attention_entropy(official) > 0.99 * math.log(length)
    assert attention_entropy(sharp) < 0.8 * math.log(length)
    # The query scale is exactly `gain` times the official dh ** -0.5.
    mha = sharp.pooling_attention
    torch.testing.assert_close(
        mha.query_scale(), torch.full((mha.head_dim,), 8.0 * mha.head_dim**-0.5), rtol=1e-5, atol=0
    )
    assert sharp(tokens).shape == (16, width)
