"""Random checkpoints in the official layout, for tests and benchmarks without the released weights.

Written member by member (like the official `.npz`, a zip of `.npy` files), so a full-size random file
(1 GB for LvT-base) never needs more memory than its largest array.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from training.convert.npz import PREFIX


def _random(key: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Values of a plausible scale for each kind of leaf, so no activation saturates or vanishes; nothing is
    exactly 0 or 1, so a mapping that drops an offset or a transpose shows up in outputs."""
    if key.endswith("scale") and "per_dim_scale" not in key:
        std = 0.2  # LayerNorm scale is stored as gamma - 1
    elif key.endswith(("/bias", "/b")):
        std = 0.1
    elif "per_dim_scale" in key:
        std = 0.5
    elif key.endswith("/kernel"):
        std = 1.0 / math.sqrt(shape[-2])
    elif key.endswith("post/w"):
        std = 1.0 / math.sqrt(shape[-1] * shape[-2])
    elif key.endswith("/w"):
        std = 1.0 / math.sqrt(shape[-3])
    elif key.endswith(("token_emb/emb_var", "cls_emb")):
        std = 1.0 / math.sqrt(shape[-1])  # multiplied by sqrt(width) in the forward
    else:
        std = 0.5  # position tables, pooling query
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)


def write_random_official(
    path: str | Path, tree: Mapping[str, tuple[int, ...] | list[int]], seed: int = 0
) -> Path:
    """Write a float32 `.npz` with one random array per key of `tree` (keys with or without `params/`)."""
    path = Path(path)
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key in sorted(tree):
            name = key if key.startswith(PREFIX) else PREFIX + key
            array = _random(name, tuple(tree[key]), rng)
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
            del array
    return path
