"""Parity with the official JAX implementation on every fixture directory found (parity_a, parity_b, ...),
and on a fixture with frame paddings generated at test time (tests/model/padded_fixture.py).

Each fixture holds official checkpoints (`params_video_encoder.npz`, `params_lvt.npz`), inputs and the
official outputs; `manifest.json` gives the configs (passed as overrides to the converter, so a logit cap
the file cannot carry is honoured), the inputs, the outputs and optional frame paddings. An output is
`<model>__<segment>__<what>`: a segment that names an input is that input alone; a segment that extends an
input's name with a padding suffix (`video_input_with_frame_paddings`) is that input run with the
manifest's frame paddings. No input file is ever looked up under a padded segment's name. Everything goes
through `training.convert.load_official`, the API users call. Fixtures: `<repo>/../shared/videoprism/
parity_*` and the directories in $VIDEOPRISM_PARITY_DIR (os.pathsep-separated).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.convert.fixtures import ENV_VAR, manifest, parity_dirs
from tests.model.padded_fixture import PADDED_SUFFIX, output_names, write_padded_fixture
from training.convert import load_official
from training.model import VideoEncoder, VideoTextModel

TOL = 1e-5
VIDEO_OUTPUTS = {"embeddings": "spatiotemporal_features", "spatial_features": "spatial_features"}


@dataclass(frozen=True)
class VideoCall:
    """What one output segment asks for: the input file it reads and whether frame paddings apply."""

    video_input: str
    padded: bool
    segment: str


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


def video_inputs(directory: Path) -> list[str]:
    """Names of the fixture's video inputs ([B, T, H, W, 3]): from the manifest, else the input files."""
    listed = manifest(directory).get("inputs", {})
    if listed:
        return [name for name, spec in listed.items() if isinstance(spec, list) and len(spec[0]) == 5]
    found = []
    for path in sorted(directory.glob("*.npy")):
        if not path.name.startswith("out__") and np.load(path, mmap_mode="r").ndim == 5:
            found.append(path.stem)
    return found


def resolve_segment(directory: Path, segment: str) -> VideoCall:
    """The input and padding an output segment stands for. The longest input name that starts the
    segment wins, so `video_input_down` is not read as `video_input` with a suffix."""
    names = video_inputs(directory)
    if segment in names:
        return VideoCall(segment, padded=False, segment=segment)
    for name in sorted(names, key=len, reverse=True):
        rest = segment[len(name) :]
        if segment.startswith(name) and "pad" in rest:
            return VideoCall(name, padded=True, segment=segment)
    raise ValueError(f"{directory.name}: output segment {segment!r} names no input of {names}")


def frame_paddings(
    directory: Path, video_input: str, shape: tuple[int, ...], aliases: tuple[str, ...] = ()
) -> np.ndarray | None:
    """The [B, T] frame paddings the manifest records for `video_input` (or one of `aliases`, e.g. the
    padded segment's name), if any.

    Accepted manifest forms: `"frame_paddings": "file.npy"` or a nested list (for any video input of a
    matching [B, T]), `{"<input>": "file.npy" | list}`, `{"file"|"values": ..., "input": "<input>"}`,
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
        if target is not None and target != video_input and target not in aliases:
            continue
        pads = _npy(directory, value) if isinstance(value, str) else np.asarray(value, dtype=np.float32)
        if pads.shape == shape[:2]:
            return pads.astype(np.float32)
    return None


@cache
def _video_outputs(directory: Path, kind: str, call: VideoCall) -> dict[str, np.ndarray]:
    video = _npy(directory, call.video_input)
    pads = None
    if call.padded:
        pads = frame_paddings(directory, call.video_input, video.shape, aliases=(call.segment,))
        if pads is None:
            raise ValueError(
                f"{directory.name}: {call.segment!r} is a padded output of {call.video_input!r}, "
                f"but the manifest records no frame paddings of shape {video.shape[:2]}"
            )
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
    """Our value of official output `name` (`<model>__<segment>__<what>` or `lvt__text_*`)."""
    parts = name.split("__")
    if parts[0] == "lvt" and len(parts) == 2:
        return _text_outputs(directory)[parts[1]]
    if len(parts) != 3 or parts[0] not in ("video_encoder", "lvt"):
        raise ValueError(f"{directory.name}: cannot interpret output {name!r}")
    kind, segment, what = parts
    outputs = _video_outputs(directory, kind, resolve_segment(directory, segment))
    if what not in outputs:
        raise ValueError(f"{directory.name}: unknown output {what!r} of {kind}")
    return outputs[what]


def _check(directory: Path, name: str) -> None:
    want = _npy(directory, f"out__{name}")
    got = compute_output(directory, name)
    assert got.shape == want.shape, f"{name}: shape {got.shape} != official {want.shape}"
    error = float(np.abs(got - want).max())
    print(f"{directory.name} {name}: max abs error {error:.3g}")
    assert error <= TOL, f"{name}: max abs error {error:.3g} > {TOL}"


@pytest.mark.parametrize(("directory", "name"), _cases())
def test_output_matches_official(directory: Path, name: str) -> None:
    _check(directory, name)


@pytest.fixture(scope="module")
def padded_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_padded_fixture(tmp_path_factory.mktemp("parity_padded"))


@pytest.mark.parametrize("name", output_names())
def test_generated_padded_fixture(padded_fixture: Path, name: str) -> None:
    _check(padded_fixture, name)


def test_padded_fixture_tells_padded_from_plain(padded_fixture: Path) -> None:
    """The generated fixture can fail a harness that mixes the two calls: padded and plain outputs of the
    same input differ far beyond the tolerance, and no input file has the padded segment's name."""
    segment = f"video_input{PADDED_SUFFIX}"
    assert not (padded_fixture / f"{segment}.npy").exists()
    for what in ("video_encoder__{}__embeddings", "lvt__{}__video_embeddings"):
        plain = _npy(padded_fixture, "out__" + what.format("video_input"))
        padded = _npy(padded_fixture, "out__" + what.format(segment))
        assert np.abs(plain - padded).max() > 1000 * TOL
    assert resolve_segment(padded_fixture, "video_input_down") == VideoCall(
        "video_input_down", padded=False, segment="video_input_down"
    )
    with pytest.raises(ValueError, match="names no input"):
        compute_output(padded_fixture, "lvt__video_input_missing__video_embeddings")
