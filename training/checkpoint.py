"""This project's model checkpoint format: a directory with `model.safetensors` + `config.json`.

`config.json` holds the resolved model config (so anything can rebuild the model without code changes), plus
free-form provenance metadata. A tokenizer file, when the model has a text tower, sits beside them as
`tokenizer.model`. Trainers add their own resumable state (optimizer, RNG, step) in separate files; the export
and conversion paths only need these two.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from training.model import (
    ModelConfig,
    VideoEncoder,
    VideoTextModel,
    build_model,
    config_from_dict,
    config_to_dict,
)

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
TOKENIZER_NAME = "tokenizer.model"
FORMAT_VERSION = 1


def save_model_checkpoint(
    directory: str | Path,
    model: VideoEncoder | VideoTextModel,
    *,
    metadata: dict[str, Any] | None = None,
    tokenizer_file: str | Path | None = None,
) -> Path:
    """Write weights, config and (optionally) a tokenizer copy to `directory`; returns the directory."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(out / WEIGHTS_NAME))
    payload = {
        "format_version": FORMAT_VERSION,
        "model": config_to_dict(model.config),
        "metadata": metadata or {},
    }
    (out / CONFIG_NAME).write_text(json.dumps(payload, indent=2) + "\n")
    if tokenizer_file is not None:
        shutil.copyfile(tokenizer_file, out / TOKENIZER_NAME)
    return out


def read_checkpoint_config(directory: str | Path) -> tuple[ModelConfig, dict[str, Any]]:
    """The model config and metadata stored in a checkpoint directory."""
    payload = json.loads((Path(directory) / CONFIG_NAME).read_text())
    if payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{directory}: unsupported checkpoint format_version {payload.get('format_version')!r}"
        )
    return config_from_dict(payload["model"]), payload.get("metadata", {})


def load_model_checkpoint(directory: str | Path, map_location: str = "cpu") -> VideoEncoder | VideoTextModel:
    """Rebuild the model from `config.json` and load `model.safetensors` strictly; returns it in eval mode."""
    config, _ = read_checkpoint_config(directory)
    model = build_model(config)
    state = load_file(str(Path(directory) / WEIGHTS_NAME), device=map_location)
    model.load_state_dict(state, strict=True)
    return model.eval()


def tokenizer_path(directory: str | Path) -> Path | None:
    path = Path(directory) / TOKENIZER_NAME
    return path if path.exists() else None


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
