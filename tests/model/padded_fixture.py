"""Writes an official-outputs fixture with frame paddings, in the layout the official fixtures use.

Layout (the held-out config-B fixture's): the manifest lists the plain video inputs and records the frame
paddings once, without naming an input; outputs of the plain input are `<model>__<input>__<what>`, outputs
of the same input run with the paddings are `<model>__<input>_with_frame_paddings__<what>`, and no input
file carries the padded name. The "official" values come from the float64 NumPy reference
(tests/convert/reference.py), which matches the official code on parity_a.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.convert import reference
from tests.convert.test_config_b import LVT_B, TEXT_IDS, TEXT_PADS, VIDEO_B
from training.convert.synthetic import write_random_official
from training.convert.tree import official_tree

CAP = 5.0
PADDED_SUFFIX = "_with_frame_paddings"
VIDEO_CONFIG = {
    "patch_size": 6, "pos_emb_shape": [8, 8, 8], "model_dim": 48, "num_spatial_layers": 3,
    "num_temporal_layers": 2, "num_heads": 3, "mlp_dim": 80, "atten_logit_cap": CAP, "norm_policy": "pre",
    "scan": True,
}  # fmt: skip
LVT_CONFIG = {
    **VIDEO_CONFIG, "num_auxiliary_layers": 2, "vocabulary_size": 128, "enable_causal_atten": True,
    "num_unimodal_layers": 3,
}  # fmt: skip
_rng = np.random.default_rng(7)
# Two plain inputs of different [B, T]: the paddings' shape fits only `video_input`, as in the held-out
# fixture, so a harness that pads every input of a matching shape pads its plain outputs too.
INPUTS = {
    "video_input": _rng.random((2, 8, 48, 48, 3), dtype=np.float32),
    "video_input_down": _rng.random((3, 3, 36, 36, 3), dtype=np.float32),
}
FRAME_PADDINGS = np.array([[0] * 5 + [1] * 3, [0, 0, 1, 0, 0, 0, 0, 1]], dtype=np.float32)
PADDED_INPUT = "video_input"
VIDEO_ENCODER_OUTPUTS = ("embeddings", "spatial_features")
LVT_VIDEO_OUTPUTS = (
    "video_embeddings", "video_embeddings_unnormalized", "frame_embeddings", "spatiotemporal_features",
    "spatial_features",
)  # fmt: skip
LVT_TEXT_OUTPUTS = ("text_embeddings", "text_embeddings_unnormalized", "text_features_sequence")


def _segments() -> list[tuple[str, str, np.ndarray | None]]:
    """(output segment, input name, paddings) for every video call the fixture records."""
    plain = [(name, name, None) for name in INPUTS]
    return [*plain, (PADDED_INPUT + PADDED_SUFFIX, PADDED_INPUT, FRAME_PADDINGS)]


def output_names() -> list[str]:
    names = []
    for segment, _, _ in _segments():
        names += [f"video_encoder__{segment}__{what}" for what in VIDEO_ENCODER_OUTPUTS]
        names += [f"lvt__{segment}__{what}" for what in LVT_VIDEO_OUTPUTS]
    return names + [f"lvt__{what}" for what in LVT_TEXT_OUTPUTS]


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k.removeprefix("params/"): data[k] for k in data.files}


def write_padded_fixture(root: Path) -> Path:
    """Write the fixture into `root` (created) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    write_random_official(root / "params_video_encoder.npz", official_tree(VIDEO_B), seed=11)
    write_random_official(root / "params_lvt.npz", official_tree(LVT_B), seed=12)
    video_params, lvt_params = _arrays(root / "params_video_encoder.npz"), _arrays(root / "params_lvt.npz")
    for name, value in INPUTS.items():
        np.save(root / f"{name}.npy", value)
    np.save(root / "frame_paddings.npy", FRAME_PADDINGS)
    np.save(root / "text_token_ids.npy", TEXT_IDS)
    np.save(root / "text_paddings.npy", TEXT_PADS)
    outputs: dict[str, np.ndarray] = {}
    for segment, name, pads in _segments():
        video = INPUTS[name]
        encoded = reference.video_encoder(video_params, video, CAP, pads)
        outputs.update({f"video_encoder__{segment}__{k}": encoded[k] for k in VIDEO_ENCODER_OUTPUTS})
        lvt = reference.lvt_video(lvt_params, video, CAP, pads)
        outputs.update({f"lvt__{segment}__{k}": lvt[k] for k in LVT_VIDEO_OUTPUTS})
    text = reference.lvt_text(lvt_params, TEXT_IDS, TEXT_PADS, CAP)
    outputs.update({f"lvt__{k}": text[k] for k in LVT_TEXT_OUTPUTS})
    for name, value in outputs.items():
        np.save(root / f"out__{name}.npy", value.astype(np.float32))
    inputs = {name: [list(v.shape), "float32"] for name, v in INPUTS.items()}
    inputs["text_token_ids"] = [list(TEXT_IDS.shape), "int32"]
    inputs["text_paddings"] = [list(TEXT_PADS.shape), "float32"]
    manifest = {
        "config_name": "padded (generated)",
        "video_encoder_config": VIDEO_CONFIG,
        "lvt_config": LVT_CONFIG,
        "frame_paddings": "frame_paddings.npy",
        "inputs": inputs,
        "outputs": {name: list(value.shape) for name, value in outputs.items()},
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return root
