"""Parity with the official JAX implementation on every fixture directory found (parity_a, parity_b, ...).

Each fixture holds official checkpoints (`params_video_encoder.npz`, `params_lvt.npz`), inputs and the
official outputs; `manifest.json` gives the configs (passed as overrides to the converter, so a logit cap
the file cannot carry is honoured), the inputs, the outputs and optional frame paddings. Everything goes
through `training.convert.load_official`, the API users call. Fixtures: `<repo>/../shared/videoprism/
parity_*` and the directories in $VIDEOPRISM_PARITY_DIR (os.pathsep-separated).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.convert.fixtures import ENV_VAR, manifest, parity_dirs
from training.convert import load_official
from training.model import VideoEncoder, VideoTextModel

TOL = 1e-5
VIDEO_OUTPUTS = {"embeddings": "spatiotemporal_features", "spatial_features": "spatial_features"}


def _output_names(directory: Path) -> list[str]:
    names = list(manifest(directory).get("outputs", {}))
    return names or sorted(p.name[len("out__") : -len(".npy")] for p in directory.glob("out__*.npy"))


def _cases() -> list[Any]:
    cases = [pytest.param(d, name, id=f"{d.name}:{name}") for d in parity_dirs() for name in _output_names(d)]
    reason = f"no parity fixture found (../shared/videoprism/parity_* or ${ENV_VAR})"
    return cases or [pytest.param(None, "", marks=pytest.mark.skip(reason=reason))]


def _overrides(config: dict[str, Any] | None) -> dict[str, Any]:
    return dict(config or {})


@cache
def _model(directory: Path, kind: str) -> VideoEncoder | VideoTextModel:
    data = manifest(directory)
    if kind == "video_encoder":
        return load_official(
            directory / "params_video_encoder.npz", **_overrides(data.get("video_encoder_config"))
        )
    return load_official(directory / "params_lvt.npz", **_overrides(data.get("lvt_config")))


def _npy(directory: Path, name: str) -> np.ndarray:
    path = directory / (name if name.endswith(".npy") else f"{name}.npy")
    return np.load(path)


def frame_paddings(directory: Path, video_input: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """The [B, T] frame paddings the official call used for `video_input`, if the manifest lists any.

    Accepted manifest forms: `"frame_paddings": "file.npy"` or a nested list (applied to every video input
    of a matching [B, T]), `{"<input>": "file.npy" | list}`, `{"file"|"values": ..., "input": "<input>"}`,
    or an input entry named `frame_paddings` / `<input>__frame_paddings`.
    """
    data = manifest(directory)
    spec = data.get("frame_paddings")
    candidates: list[tuple[str | None, Any]] = []
    if isinstance(spec, str | list):
        candidates.append((None, spec))
    elif isinstance(spec, dict):
        if "file" in spec or "values" in spec:
            target = spec.get("input") or spec.get("applies_to") or spec.get("video_input")
            candidates.append((target, spec.get("file", spec.get("values"))))
        else:
            candidates.extend(spec.items())
    for name in data.get("inputs", {}):
        if name == "frame_paddings" or name.endswith("frame_paddings"):
            target = name.removesuffix("frame_paddings").rstrip("_") or None
            candidates.append((target, name))
    for target, value in candidates:
        if target is not None and target != video_input:
            continue
        pads = _npy(directory, value) if isinstance(value, str) else np.asarray(value, dtype=np.float32)
        if pads.shape == shape[:2]:
            return pads.astype(np.float32)
    return None


@cache
def _video_outputs(directory: Path, kind: str, video_input: str) -> dict[str, np.ndarray]:
    video = _npy(directory, video_input)
    pads = frame_paddings(directory, video_input, video.shape)
    frames = torch.from_numpy(video)
    pad_t = None if pads is None else torch.from_numpy(pads)
    model = _model(directory, kind)
    with torch.no_grad():
        if isinstance(model, VideoEncoder):
            got = model.forward_intermediates(frames, pad_t)
            return {k: got[v].numpy() for k, v in VIDEO_OUTPUTS.items()}
        got = model.forward_video_intermediates(frames, pad_t)
        raw = model.forward_video_intermediates(frames, pad_t, normalize=False)
    out = {k: v.numpy() for k, v in got.items()}
    out["video_embeddings_unnormalized"] = raw["video_embeddings"].numpy()
    out["frame_embeddings_unnormalized"] = raw["frame_embeddings"].numpy()
    return out


@cache
def _text_outputs(directory: Path) -> dict[str, np.ndarray]:
    model = _model(directory, "lvt")
    assert isinstance(model, VideoTextModel)
    ids = torch.from_numpy(_npy(directory, "text_token_ids")).long()
    pads = torch.from_numpy(_npy(directory, "text_paddings")).float()
    with torch.no_grad():
        return {
            "text_embeddings": model.encode_text(ids, pads).numpy(),
            "text_embeddings_unnormalized": model.encode_text(ids, pads, normalize=False).numpy(),
            # Padded rows included: the model replicates the official uniform attention of padded queries.
            "text_features_sequence": model.text_encoder.forward_sequence(ids, pads).numpy(),
        }


def compute_output(directory: Path, name: str) -> np.ndarray:
    """Our value of official output `name` (`<model>__<input>__<what>` or `lvt__text_*`)."""
    parts = name.split("__")
    if parts[0] == "lvt" and len(parts) == 2:
        return _text_outputs(directory)[parts[1]]
    if len(parts) != 3 or parts[0] not in ("video_encoder", "lvt"):
        raise ValueError(f"{directory.name}: cannot interpret output {name!r}")
    kind, video_input, what = parts
    outputs = _video_outputs(directory, kind, video_input)
    if what not in outputs:
        raise ValueError(f"{directory.name}: unknown output {what!r} of {kind}")
    return outputs[what]


@pytest.mark.parametrize(("directory", "name"), _cases())
def test_output_matches_official(directory: Path, name: str) -> None:
    want = _npy(directory, f"out__{name}")
    got = compute_output(directory, name)
    assert got.shape == want.shape, f"{name}: shape {got.shape} != official {want.shape}"
    error = float(np.abs(got - want).max())
    print(f"{directory.name} {name}: max abs error {error:.3g}")
    assert error <= TOL, f"{name}: max abs error {error:.3g} > {TOL}"
