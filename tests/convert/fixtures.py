"""Where the official parity fixtures are, and small helpers to read them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from tests.conftest import SHARED
from training.convert.synthetic import write_random_official
from training.convert.tree import official_tree
from training.model import VideoEncoderConfig, VideoTextConfig

SHARED_VIDEOPRISM = SHARED / "videoprism"
# One directory, or several separated by os.pathsep; each must hold a manifest.json.
ENV_VAR = "VIDEOPRISM_PARITY_DIR"


def parity_dirs() -> list[Path]:
    """Fixture directories: those named by $VIDEOPRISM_PARITY_DIR, then every shared parity_* folder."""
    found: list[Path] = []
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if entry.strip():
            found.append(Path(entry.strip()).resolve())
    if SHARED_VIDEOPRISM.is_dir():
        found.extend(p.resolve() for p in sorted(SHARED_VIDEOPRISM.glob("parity_*")) if p.is_dir())
    unique: list[Path] = []
    for path in found:
        if path not in unique and (path / "manifest.json").is_file():
            unique.append(path)
    return unique


def parity_a() -> Path | None:
    for path in parity_dirs():
        if json.loads((path / "manifest.json").read_text()).get("config_name") == "A":
            return path
    return None


def official_arrays(npz_path: Path) -> dict[str, np.ndarray]:
    with np.load(npz_path, allow_pickle=False) as data:
        return {k.removeprefix("params/"): data[k] for k in data.files}


def manifest(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "manifest.json").read_text())
    return data


def random_official_pair(
    root: Path, video: VideoEncoderConfig, lvt: VideoTextConfig, seed: int
) -> dict[str, Path]:
    """Random official-layout checkpoints of a video encoder ("video", `seed`) and a video-text model
    ("lvt", `seed + 1`) under `root`."""
    return {
        "video": write_random_official(root / "video.npz", official_tree(video), seed=seed),
        "lvt": write_random_official(root / "lvt.npz", official_tree(lvt), seed=seed + 1),
    }
