"""The released checkpoints' exact parameter trees (official `init`, ../shared/videoprism/
videoprism_param_tree_*.json): sizes inferred from them are the presets, every array maps onto the model,
and (slow) random checkpoints of the full base trees convert end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.convert.fixtures import SHARED_VIDEOPRISM
from training.checkpoint import load_model_checkpoint, parameter_count
from training.convert import convert_official
from training.convert.infer import resolve_config
from training.convert.mapping import map_array
from training.convert.synthetic import write_random_official
from training.convert.tree import official_tree
from training.model import build_model, presets

# preset -> (official configuration name, parameter count in official.md §1.1)
RELEASED = {
    "base": ("videoprism_public_v1_base", 114_365_184),
    "large": ("videoprism_public_v1_large", 353_965_056),
    "lvt_base": ("videoprism_lvt_public_v1_base", 247_623_424),
    "lvt_large": ("videoprism_lvt_public_v1_large", 579_877_120),
}


def _tree(preset: str) -> dict[str, tuple[int, ...]]:
    path = SHARED_VIDEOPRISM / f"videoprism_param_tree_{RELEASED[preset][0]}.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return {k.removeprefix("params/"): tuple(v) for k, v in json.loads(path.read_text()).items()}


@pytest.mark.parametrize("preset", sorted(RELEASED))
def test_released_tree_infers_the_preset_and_maps_onto_the_model(preset: str) -> None:
    tree = _tree(preset)
    assert sum(int(np.prod(s)) for s in tree.values()) == RELEASED[preset][1]
    assert resolve_config(tree) == presets[preset]
    assert official_tree(presets[preset]) == tree
    with torch.device("meta"):
        model = build_model(presets[preset])
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    mapped: dict[str, tuple[int, ...]] = {}
    lvt = preset.startswith("lvt")
    for key, shape in tree.items():
        # A zero-stride stand-in: the rules only reshape/transpose, so no full-size memory is needed.
        stand_in = np.broadcast_to(np.zeros((), np.float32), shape)
        for name, array in map_array(key, stand_in, lvt=lvt):
            assert name not in mapped, f"{name} is written twice"
            mapped[name] = array.shape
    assert mapped == expected
    assert sum(int(np.prod(s)) for s in mapped.values()) == RELEASED[preset][1]


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["base", "lvt_base"])
def test_full_size_random_checkpoint_converts(preset: str, tmp_path: Path) -> None:
    npz = write_random_official(tmp_path / "official.npz", _tree(preset), seed=0)
    root = "vision_encoder/" if preset.startswith("lvt") else ""
    with np.load(npz) as data:
        ln_scale = data[f"params/{root}temporal_ln/scale"]
    result = convert_official(npz, tmp_path / "converted")
    assert result.config == presets[preset]
    npz.unlink()  # keep the disk peak at one full-size copy
    model = load_model_checkpoint(tmp_path / "converted")
    assert parameter_count(model) == RELEASED[preset][1]
    prefix = "vision_encoder." if root else ""
    np.testing.assert_array_equal(model.state_dict()[f"{prefix}temporal_ln.weight"].numpy(), ln_scale + 1)
    metadata = json.loads((tmp_path / "converted" / "config.json").read_text())["metadata"]
    assert metadata["video_only"] is True
    assert metadata["model_name"] == f"videoprism-{preset.replace('_', '-')}"
