"""The manifest-driven parity harness (tests/model/test_parity_official.py) on a fixture it has never seen:
a config-B-shaped directory in the official fixture format, with a cap of 5 in the manifest, frame
paddings and downsampled position tables, whose "official" outputs come from the NumPy reference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.convert import reference
from tests.convert.test_config_b import (
    LVT_B,
    PADS_DOWN,
    TEXT_IDS,
    TEXT_PADS,
    VIDEO_B,
    VIDEO_DOWN,
)
from tests.model import test_parity_official as harness
from training.convert.synthetic import write_random_official
from training.convert.tree import official_tree

VIDEO_CONFIG = {
    "patch_size": 6, "pos_emb_shape": [8, 8, 8], "model_dim": 48, "num_spatial_layers": 3,
    "num_temporal_layers": 2, "num_heads": 3, "mlp_dim": 80, "atten_logit_cap": 5.0, "norm_policy": "pre",
    "scan": True,
}  # fmt: skip
LVT_CONFIG = {
    **VIDEO_CONFIG, "num_auxiliary_layers": 2, "vocabulary_size": 128, "enable_causal_atten": True,
    "num_unimodal_layers": 3,
}  # fmt: skip


def _fixture(root: Path, paddings_spec: object) -> Path:
    write_random_official(root / "params_video_encoder.npz", official_tree(VIDEO_B), seed=4)
    write_random_official(root / "params_lvt.npz", official_tree(LVT_B), seed=5)
    np.save(root / "video_input.npy", VIDEO_DOWN)
    np.save(root / "frame_paddings.npy", PADS_DOWN)
    np.save(root / "text_token_ids.npy", TEXT_IDS)
    np.save(root / "text_paddings.npy", TEXT_PADS)
    video = {k.removeprefix("params/"): v for k, v in np.load(root / "params_video_encoder.npz").items()}
    lvt = {k.removeprefix("params/"): v for k, v in np.load(root / "params_lvt.npz").items()}
    outputs = {
        f"video_encoder__video_input_with_frame_paddings__{k}": v
        for k, v in reference.video_encoder(video, VIDEO_DOWN, 5.0, PADS_DOWN).items()
    }
    outputs.update(
        {
            f"lvt__video_input_with_frame_paddings__{k}": v
            for k, v in reference.lvt_video(lvt, VIDEO_DOWN, 5.0, PADS_DOWN).items()
        }
    )
    outputs.update({f"lvt__{k}": v for k, v in reference.lvt_text(lvt, TEXT_IDS, TEXT_PADS, 5.0).items()})
    for name, value in outputs.items():
        np.save(root / f"out__{name}.npy", value.astype(np.float32))
    manifest = {
        "config_name": "B-like",
        "video_encoder_config": VIDEO_CONFIG,
        "lvt_config": LVT_CONFIG,
        "frame_paddings": paddings_spec,
        "outputs": {name: list(value.shape) for name, value in outputs.items()},
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_harness_reads_manifest_cap_and_frame_paddings(tmp_path: Path) -> None:
    directory = _fixture(tmp_path, "frame_paddings.npy")
    for name in harness._output_names(directory):
        want = np.load(directory / f"out__{name}.npy")
        np.testing.assert_allclose(
            harness.compute_output(directory, name), want, atol=1e-5, rtol=0, err_msg=name
        )


@pytest.mark.parametrize(
    "spec",
    [
        "frame_paddings.npy",
        {"video_input": "frame_paddings"},
        {"file": "frame_paddings.npy", "input": "video_input"},
        PADS_DOWN.tolist(),
    ],
    ids=["file", "per-input", "file+input", "inline"],
)
def test_frame_paddings_manifest_forms(tmp_path: Path, spec: object) -> None:
    np.save(tmp_path / "frame_paddings.npy", PADS_DOWN)
    (tmp_path / "manifest.json").write_text(json.dumps({"frame_paddings": spec}))
    np.testing.assert_array_equal(
        harness.frame_paddings(tmp_path, "video_input", VIDEO_DOWN.shape), PADS_DOWN
    )
    # Paddings of another [B, T] or meant for another input are not applied.
    assert harness.frame_paddings(tmp_path, "video_input", (2, 8, 48, 48, 3)) is None
