"""Load an official VideoPrism `.npz` into our PyTorch model, and write it as one of our checkpoints.

Order of work, so a bad file costs nothing: read the member headers -> resolve the config -> check the
whole parameter tree against it -> only then read arrays, one at a time, mapping each and freeing the raw
copy. The model is built on the meta device and the mapped tensors are assigned to it, so no random init
(slow, and as large as the model) happens before the real weights arrive.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.checkpoint import save_model_checkpoint
from training.convert.infer import resolve_config
from training.convert.mapping import map_array
from training.convert.npz import OfficialCheckpointError, OfficialNpz
from training.convert.tokenizer import check_tokenizer
from training.convert.tree import check_tree, official_tree
from training.export.file_modes import make_readable
from training.model import (
    ModelConfig,
    VideoEncoder,
    VideoTextConfig,
    VideoTextModel,
    build_model,
    presets,
)

RELEASED_PRESETS = ("base", "large", "lvt_base", "lvt_large")


def read_official_config(npz_path: str | Path, preset: str | None = None, **overrides: Any) -> ModelConfig:
    """The config of an official checkpoint (checked against every array shape); reads headers only."""
    with OfficialNpz(npz_path) as npz:
        return _checked_config(npz, preset, overrides)


def _checked_config(npz: OfficialNpz, preset: str | None, overrides: Mapping[str, Any]) -> ModelConfig:
    config = resolve_config(npz.shapes, preset, overrides)
    check_tree(official_tree(config), npz.shapes, source=str(npz.path))
    return config


def _state_dict(npz: OfficialNpz, lvt: bool) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for key, array in npz.iter_arrays():
        for name, mapped in map_array(key, array, lvt=lvt):
            # Contiguous copies only where the rule changed the layout; per-layer views of a stacked
            # array share its buffer, which is freed once the last layer's copy is made.
            state[name] = torch.from_numpy(np.ascontiguousarray(mapped))
        del array
    return state


def _load(npz: OfficialNpz, config: ModelConfig) -> VideoEncoder | VideoTextModel:
    with torch.device("meta"):
        model = build_model(config)
    state = _state_dict(npz, lvt=isinstance(config, VideoTextConfig))
    model.load_state_dict(state, strict=True, assign=True)
    leftover = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if leftover:  # a tensor no rule filled would otherwise fail later, far from its cause
        raise OfficialCheckpointError(f"no official array maps onto {leftover[0]}")
    return model.eval()


def load_official(
    npz_path: str | Path, preset: str | None = None, **overrides: Any
) -> VideoEncoder | VideoTextModel:
    """An official checkpoint as a `VideoEncoder` or `VideoTextModel` in eval mode, weights loaded.

    `preset` (e.g. "lvt_base") is checked against the file; without it every size is read from the array
    shapes. `overrides` set what a file cannot carry (e.g. `atten_logit_cap=5.0`) and accept the official
    configuration names as well as our config field names (`video.image_size`, `text.max_length`, ...).
    """
    with OfficialNpz(npz_path) as npz:
        return _load(npz, _checked_config(npz, preset, overrides))


@dataclass(frozen=True)
class ConversionResult:
    out_dir: Path
    config: ModelConfig
    video_only: bool
    parameters: int


def convert_official(
    npz_path: str | Path,
    out_dir: str | Path,
    *,
    preset: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    tokenizer: str | Path | None = None,
    overwrite: bool = False,
) -> ConversionResult:
    """Convert `npz_path` into this project's checkpoint format at `out_dir`.

    Everything is written into a temporary sibling directory that is renamed into place at the end, so a
    refused or interrupted conversion leaves no partial checkpoint behind.
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty (pass overwrite=True / --force to replace it)")
    overrides = dict(overrides or {})
    with OfficialNpz(npz_path) as npz:
        config = _checked_config(npz, preset, overrides)
        lvt = isinstance(config, VideoTextConfig)
        if tokenizer is not None and not lvt:
            raise OfficialCheckpointError("a tokenizer was given but the checkpoint is a video-only encoder")
        if tokenizer is not None:
            assert isinstance(config, VideoTextConfig)
            check_tokenizer(tokenizer, config.text.vocab_size)
        model = _load(npz, config)
    video_only = tokenizer is None
    released = [name for name in RELEASED_PRESETS if presets[name] == config]
    metadata = {
        # The exporter names bundles after this: the released model's name when the sizes are a release's.
        "model_name": f"videoprism-{released[0].replace('_', '-')}" if released else Path(npz_path).stem,
        "source": "official-videoprism",
        "checkpoint_file": Path(npz_path).name,
        "preset": preset,
        "overrides": {
            k: v if isinstance(v, int | float | str | bool) else list(v) for k, v in overrides.items()
        },
        "video_only": video_only,
        # An LvT model without its tokenizer still has the text tower's weights, but nothing can turn text
        # into ids for it; servers must treat it as video-only.
        "text_tower_weights": lvt,
        "tokenizer": None if tokenizer is None else Path(tokenizer).name,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    # A plain mkdir (not mkdtemp) so the checkpoint gets the usual permissions, not mkdtemp's 0700.
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        save_model_checkpoint(staging, model, metadata=metadata, tokenizer_file=tokenizer)
        make_readable(staging)
        parameters = sum(p.numel() for p in model.parameters())
        del model
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ConversionResult(out, config, video_only, parameters)
