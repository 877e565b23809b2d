"""Conversion of the official (JAX/Flax) VideoPrism checkpoints into this project's PyTorch models.

- `load_official(npz_path, preset=None, **overrides)` -> `VideoEncoder` | `VideoTextModel` (eval mode).
- `convert_official(npz_path, out_dir, ...)` -> a checkpoint directory (`training/checkpoint.py` format).
- `read_official_config(npz_path, preset=None, **overrides)` -> the config, from array headers only.
"""

from training.convert.load import ConversionResult, convert_official, load_official, read_official_config
from training.convert.npz import OfficialCheckpointError

__all__ = [
    "ConversionResult",
    "OfficialCheckpointError",
    "convert_official",
    "load_official",
    "read_official_config",
]
