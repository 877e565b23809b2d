"""Converter + model against the NumPy reference on a random checkpoint of the held-out fixture's shapes
(config B: D 48, 3 heads, MLP 80, patch 6, 8x8x8 positions, cap 5.0): position tables downsampled in space
and time (antialiased), frame paddings, padded text, and a logit cap the file cannot carry (an override)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.convert import reference
from tests.convert.fixtures import official_arrays, random_official_pair
from training.convert import load_official
from training.model import TextEncoderConfig, VideoEncoderConfig, VideoTextConfig, VideoTextModel

CAP = 5.0
VIDEO_B = VideoEncoderConfig(
    patch_size=6, pos_grid=8, num_frames=8, image_size=48, width=48, num_heads=3, mlp_dim=80,
    num_spatial_layers=3, num_temporal_layers=2, atten_logit_cap=CAP,
)  # fmt: skip
LVT_B = VideoTextConfig(
    video=VIDEO_B,
    text=TextEncoderConfig(
        vocab_size=128, width=48, num_heads=3, num_layers=3, mlp_dim=192, atten_logit_cap=CAP
    ),
    num_auxiliary_layers=2,
)
# float32 model against a float64 reference: 1.8e-6 at most on an AVX-512 host, but one ill-conditioned
# token reached 1.9e-5 on another CPU; a layout or resampling bug moves tokens by more than 1e-2.
TOL = 5e-5
rng = np.random.default_rng(1)
VIDEO_DOWN = rng.random((3, 3, 36, 36, 3), dtype=np.float32)  # 6x6 grid < 8x8, 3 frames < 8
VIDEO_NATIVE = rng.random((2, 8, 48, 48, 3), dtype=np.float32)
PADS_DOWN = np.array([[0, 0, 1], [0, 1, 1], [0, 0, 0]], dtype=np.float32)
PADS_NATIVE = np.array([[0] * 5 + [1] * 3, [0] * 8], dtype=np.float32)
LENGTHS = [10, 4, 1, 7]
TEXT_IDS = np.zeros((4, 10), dtype=np.int32)
for _row, _n in enumerate(LENGTHS):
    TEXT_IDS[_row, :_n] = rng.integers(1, 128, _n)
TEXT_PADS = (np.arange(10)[None, :] >= np.array(LENGTHS)[:, None]).astype(np.float32)
CASES = [(VIDEO_DOWN, None), (VIDEO_DOWN, PADS_DOWN), (VIDEO_NATIVE, None), (VIDEO_NATIVE, PADS_NATIVE)]
CASE_IDS = ["down", "down-padded", "native", "native-padded"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return random_official_pair(tmp_path_factory.mktemp("config_b"), VIDEO_B, LVT_B, seed=2)


@pytest.fixture(scope="module")
def models(files: dict[str, Path]) -> dict[str, Any]:
    """Loaded once per module: converting is not what these tests time, and 2 cores are shared."""
    return {name: load_official(path, atten_logit_cap=CAP) for name, path in files.items()}


@pytest.fixture(scope="module")
def arrays(files: dict[str, Path]) -> dict[str, dict[str, np.ndarray]]:
    return {name: official_arrays(path) for name, path in files.items()}


def _t(x: np.ndarray | None) -> torch.Tensor | None:
    return None if x is None else torch.from_numpy(x)


def _close(got: torch.Tensor, want: np.ndarray, what: str) -> None:
    np.testing.assert_allclose(got.detach().numpy(), want, atol=TOL, rtol=0, err_msg=what)


@pytest.mark.parametrize(("video", "pads"), CASES, ids=CASE_IDS)
def test_video_encoder_matches_reference(
    models: dict[str, Any], arrays: dict[str, Any], video: np.ndarray, pads: Any
) -> None:
    model = models["video"]
    assert model.config == VIDEO_B
    with torch.no_grad():
        got = model.forward_intermediates(torch.from_numpy(video), _t(pads))
    want = reference.video_encoder(arrays["video"], video, CAP, pads)
    _close(got["spatiotemporal_features"], want["embeddings"], "tokens")
    _close(got["spatial_features"], want["spatial_features"], "spatial_features")


@pytest.mark.parametrize(("video", "pads"), CASES, ids=CASE_IDS)
def test_lvt_video_matches_reference(
    models: dict[str, Any], arrays: dict[str, Any], video: np.ndarray, pads: Any
) -> None:
    model = models["lvt"]
    assert isinstance(model, VideoTextModel) and model.config == LVT_B
    want = reference.lvt_video(arrays["lvt"], video, CAP, pads)
    with torch.no_grad():
        got = model.forward_video_intermediates(torch.from_numpy(video), _t(pads))
        raw = model.forward_video_intermediates(torch.from_numpy(video), _t(pads), normalize=False)
    for what in ("video_embeddings", "frame_embeddings", "spatiotemporal_features", "spatial_features"):
        _close(got[what], want[what], what)
    _close(raw["video_embeddings"], want["video_embeddings_unnormalized"], "unnormalized")


def test_lvt_text_matches_reference(models: dict[str, Any], arrays: dict[str, Any]) -> None:
    model = models["lvt"]
    assert isinstance(model, VideoTextModel)
    want = reference.lvt_text(arrays["lvt"], TEXT_IDS, TEXT_PADS, CAP)
    ids, pads = torch.from_numpy(TEXT_IDS).long(), torch.from_numpy(TEXT_PADS)
    with torch.no_grad():
        _close(model.encode_text(ids, pads), want["text_embeddings"], "text")
        _close(model.encode_text(ids, pads, normalize=False), want["text_embeddings_unnormalized"], "raw")
        _close(model.text_encoder.forward_sequence(ids, pads), want["text_features_sequence"], "sequence")


def test_the_cap_override_is_what_makes_the_match(files: dict[str, Path], arrays: dict[str, Any]) -> None:
    """Without the override the file's model gets the released cap (50): outputs move far beyond the
    tolerance, so the tests above really exercise the cap of 5."""
    default = load_official(files["video"])
    assert isinstance(default.config, VideoEncoderConfig) and default.config.atten_logit_cap == 50.0
    with torch.no_grad():
        got = default(torch.from_numpy(VIDEO_NATIVE)).numpy()
    want = reference.video_encoder(arrays["video"], VIDEO_NATIVE, CAP)["embeddings"]
    assert np.abs(got - want).max() > 100 * TOL
