"""Rules that map official VideoPrism checkpoint arrays onto this project's PyTorch parameter names.

Official keys look like `params/<flax path>`; stacked layers keep a leading layer axis. Every rule below is
one of the transformations of the official layout (official.md §6.3), applied by pattern, not by a table.

The rules are per key (`map_array`): each official array maps to its PyTorch tensors without looking at any
other array. That is what lets the converter stream a multi-GB `.npz` one member at a time and free it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

# Official stack paths (after `params/`) -> PyTorch module prefix, for each model kind.
VIDEO_STACKS = {
    "spatial_encoder/transformers_stack/x_layers": "spatial_encoder",
    "temporal_encoder/transformers_stack/x_layers": "temporal_encoder",
}
LVT_STACKS = {
    **{f"vision_encoder/{k}": f"vision_encoder.{v}" for k, v in VIDEO_STACKS.items()},
    "auxiliary_encoder/transformers_stack/x_layers": "auxiliary_encoder",
    "text_encoder/unimodal_transformer/x_layers": "text_encoder.unimodal_transformer",
}
# Per-layer keys of a stack (official suffix -> PyTorch suffix inside `layers.{i}`).
LAYER_KEYS = {
    "layer_norm/scale": "layer_norm.weight",
    "layer_norm/bias": "layer_norm.bias",
    **{
        f"self_attention/{n}/{p}": f"self_attention.{n}.{t}"
        for n in ("query", "key", "value", "post")
        for p, t in (("w", "weight"), ("b", "bias"))
    },
    "ff_layer/layer_norm/scale": "ff_layer.layer_norm.weight",
    "ff_layer/layer_norm/bias": "ff_layer.layer_norm.bias",
    **{
        f"ff_layer/ffn_layer{j}/linear/{p}": f"ff_layer.ffn_layer{j}.{t}"
        for j in (1, 2)
        for p, t in (("kernel", "weight"), ("bias", "bias"))
    },
}
# Arrays of the factorized encoder outside its stacks (official suffix -> PyTorch suffix).
ENCODER_KEYS = {
    "patch_projection/linear/kernel": "patch_projection.weight",
    "patch_projection/linear/bias": "patch_projection.bias",
    "spatial_pos_emb/emb_var": "spatial_pos_emb",
    "temporal_pos_emb/emb_var": "temporal_pos_emb",
    "spatial_ln/scale": "spatial_ln.weight",
    "spatial_ln/bias": "spatial_ln.bias",
    "temporal_ln/scale": "temporal_ln.weight",
    "temporal_ln/bias": "temporal_ln.bias",
}
_POOLER = "contrastive_vision_pooler"
LVT_KEYS = {
    **{f"vision_encoder/{k}": f"vision_encoder.{v}" for k, v in ENCODER_KEYS.items()},
    f"{_POOLER}/pooling_attention_query": f"{_POOLER}.pooling_attention_query",
    **{
        f"{_POOLER}/pooling_attention/{n}/{p}": f"{_POOLER}.pooling_attention.{n}.{t}"
        for n in ("query", "key", "value", "post")
        for p, t in (("w", "weight"), ("b", "bias"))
    },
    f"{_POOLER}/pooling_attention/per_dim_scale/per_dim_scale": f"{_POOLER}.pooling_attention.per_dim_scale",
    f"{_POOLER}/pooling_attention_layer_norm/scale": f"{_POOLER}.pooling_attention_layer_norm.weight",
    f"{_POOLER}/pooling_attention_layer_norm/bias": f"{_POOLER}.pooling_attention_layer_norm.bias",
    "text_encoder/token_emb/emb_var": "text_encoder.token_emb.weight",
    "text_encoder/cls_emb": "text_encoder.cls_emb",
    "text_encoder/unimodal_ln/scale": "text_encoder.unimodal_ln.weight",
    "text_encoder/unimodal_ln/bias": "text_encoder.unimodal_ln.bias",
}


def _transform(suffix: str, array: np.ndarray) -> np.ndarray:
    """The layout change for one (un-stacked) array, chosen by the last components of its official key."""
    if suffix.endswith("layer_norm/scale") or suffix.endswith("_ln/scale"):
        return array + np.asarray(1.0, dtype=array.dtype)  # the official LayerNorm stores gamma - 1
    if suffix.endswith("/kernel"):
        return array.T  # Flax Dense kernel [in, out] -> nn.Linear weight [out, in]
    if suffix.endswith(("query/w", "key/w", "value/w")):
        return array.reshape(array.shape[0], -1).T  # [D, H, dh] -> [H*dh, D]
    if suffix.endswith("post/w"):
        return array.reshape(array.shape[0], -1)  # [D, H, dh] is already [out, in] once flattened
    if suffix.endswith(("query/b", "key/b", "value/b")):
        return array.reshape(-1)  # [H, dh] -> [H*dh]
    return array


def map_array(key: str, array: np.ndarray, *, lvt: bool) -> Iterator[tuple[str, np.ndarray]]:
    """One official array (key without `params/`) -> its PyTorch (name, array) pairs; stacks yield one per
    layer. Raises KeyError for a key that belongs to no rule."""
    stacks = LVT_STACKS if lvt else VIDEO_STACKS
    for official, torch_prefix in stacks.items():
        if key.startswith(official + "/"):
            suffix = key.removeprefix(official + "/")
            target = LAYER_KEYS[suffix]
            for i in range(array.shape[0]):
                yield f"{torch_prefix}.layers.{i}.{target}", _transform(suffix, array[i])
            return
    table = LVT_KEYS if lvt else ENCODER_KEYS
    yield table[key], _transform(key, array)
