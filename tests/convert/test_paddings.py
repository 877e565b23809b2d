"""Padding semantics of the official model (official.md §2.1-2.3), as invariances of our model.

Frame paddings: a padded frame is a masked key in both transformers and gets no FFN update, so what a padded
frame contains cannot reach any valid frame's tokens. Text paddings: right padding is invisible to the class
token, so the embedding equals that of the unpadded text.
"""

from __future__ import annotations

import torch

from training.model import (
    TextEncoderConfig,
    VideoEncoder,
    VideoEncoderConfig,
    VideoTextConfig,
    VideoTextModel,
)

VIDEO = VideoEncoderConfig(
    patch_size=6, pos_grid=8, num_frames=8, image_size=36, width=48, num_heads=3, mlp_dim=80,
    num_spatial_layers=2, num_temporal_layers=2, atten_logit_cap=5.0,
)  # fmt: skip
TEXT = TextEncoderConfig(
    vocab_size=128, width=48, num_heads=3, num_layers=2, mlp_dim=192, atten_logit_cap=5.0
)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_padded_frames_cannot_change_valid_tokens() -> None:
    torch.manual_seed(0)
    model = VideoEncoder(VIDEO).eval()
    frames = torch.rand(2, 5, 36, 36, 3, generator=_gen(1))
    pads = torch.tensor([[0, 0, 0, 1, 1], [0, 1, 0, 0, 1]], dtype=torch.float32)
    other = torch.where(pads[:, :, None, None, None] > 0, torch.rand(frames.shape, generator=_gen(2)), frames)
    valid = (pads == 0)[:, :, None].expand(2, 5, 36).reshape(2, -1)  # per token, time-major
    with torch.no_grad():
        a = model.forward_intermediates(frames, pads)
        b = model.forward_intermediates(other, pads)
        unpadded = model(frames)
    for what in ("spatial_features", "spatiotemporal_features"):
        torch.testing.assert_close(a[what][valid], b[what][valid], atol=1e-6, rtol=0)
        assert (a[what][~valid] - b[what][~valid]).abs().max() > 1e-3  # padded frames still differ
    # The padding is not a no-op: without it the valid tokens see the other frames.
    assert (a["spatiotemporal_features"][valid] - unpadded[valid]).abs().max() > 1e-3


def test_lvt_video_embedding_still_sees_padded_frames() -> None:
    """Officially the auxiliary layers and pooler get no frame paddings: padded frames are still pooled."""
    torch.manual_seed(0)
    model = VideoTextModel(VideoTextConfig(video=VIDEO, text=TEXT, num_auxiliary_layers=1)).eval()
    frames = torch.rand(1, 4, 36, 36, 3, generator=_gen(3))
    pads = torch.tensor([[0, 0, 1, 1]], dtype=torch.float32)
    other = frames.clone()
    other[:, 2:] = torch.rand(1, 2, 36, 36, 3, generator=_gen(4))
    with torch.no_grad():
        a = model.encode_video(frames, pads, normalize=False)
        b = model.encode_video(other, pads, normalize=False)
    assert (a - b).abs().max() > 1e-5


def test_text_padding_is_invisible() -> None:
    torch.manual_seed(0)
    model = VideoTextModel(VideoTextConfig(video=VIDEO, text=TEXT, num_auxiliary_layers=1)).eval()
    lengths = [10, 4, 1, 7]
    ids = torch.randint(1, 128, (4, 10), generator=_gen(5))
    pads = (torch.arange(10)[None, :] >= torch.tensor(lengths)[:, None]).float()
    ids = torch.where(pads > 0, 0, ids)
    junk = torch.where(pads > 0, torch.randint(1, 128, (4, 10), generator=_gen(6)), ids)
    with torch.no_grad():
        padded = model.encode_text(ids, pads, normalize=False)
        torch.testing.assert_close(model.encode_text(junk, pads, normalize=False), padded, atol=1e-6, rtol=0)
        for row, n in enumerate(lengths):
            alone = model.encode_text(ids[row : row + 1, :n], torch.zeros(1, n), normalize=False)
            torch.testing.assert_close(alone[0], padded[row], atol=1e-5, rtol=0)
        # Un-masking the padding must change the embedding (the mask is not vacuous).
        assert (
            model.encode_text(junk, torch.zeros(4, 10), normalize=False)[1] - padded[1]
        ).abs().max() > 1e-3
