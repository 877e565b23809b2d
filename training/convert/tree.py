"""The official parameter tree a config implies (key -> shape), and the check of a file against it.

Written from the official layout (official.md §6.1/§6.2), independently of the mapping rules, so a
mismatch between what a config expects and what a file holds is caught before any array is read.
"""

from __future__ import annotations

from collections.abc import Mapping

from training.convert.mapping import LVT_STACKS, VIDEO_STACKS
from training.convert.npz import OfficialCheckpointError
from training.model import ModelConfig, VideoEncoderConfig

Shape = tuple[int, ...]


def _stack(prefix: str, layers: int, width: int, heads: int, mlp: int) -> dict[str, Shape]:
    dh = width // heads
    tree: dict[str, Shape] = {}
    for ln in ("layer_norm", "ff_layer/layer_norm"):
        tree[f"{prefix}/{ln}/scale"] = (layers, width)
        tree[f"{prefix}/{ln}/bias"] = (layers, width)
    for name in ("query", "key", "value"):
        tree[f"{prefix}/self_attention/{name}/w"] = (layers, width, heads, dh)
        tree[f"{prefix}/self_attention/{name}/b"] = (layers, heads, dh)
    tree[f"{prefix}/self_attention/post/w"] = (layers, width, heads, dh)
    tree[f"{prefix}/self_attention/post/b"] = (layers, width)
    tree[f"{prefix}/ff_layer/ffn_layer1/linear/kernel"] = (layers, width, mlp)
    tree[f"{prefix}/ff_layer/ffn_layer1/linear/bias"] = (layers, mlp)
    tree[f"{prefix}/ff_layer/ffn_layer2/linear/kernel"] = (layers, mlp, width)
    tree[f"{prefix}/ff_layer/ffn_layer2/linear/bias"] = (layers, width)
    return tree


def _encoder(c: VideoEncoderConfig, root: str) -> dict[str, Shape]:
    d = c.width
    tree: dict[str, Shape] = {
        f"{root}patch_projection/linear/kernel": (c.patch_size * c.patch_size * 3, d),
        f"{root}patch_projection/linear/bias": (d,),
        f"{root}spatial_pos_emb/emb_var": (c.pos_grid * c.pos_grid, d),
        f"{root}temporal_pos_emb/emb_var": (c.num_frames, d),
    }
    for ln in ("spatial_ln", "temporal_ln"):
        tree[f"{root}{ln}/scale"] = (d,)
        tree[f"{root}{ln}/bias"] = (d,)
    spatial, temporal = (f"{root}{s}" for s in VIDEO_STACKS)
    tree.update(_stack(spatial, c.num_spatial_layers, d, c.num_heads, c.mlp_dim))
    tree.update(_stack(temporal, c.num_temporal_layers, d, c.num_heads, c.mlp_dim))
    return tree


def official_tree(config: ModelConfig) -> dict[str, Shape]:
    """Every array (key without `params/`) an official checkpoint of this config holds, with its shape."""
    if isinstance(config, VideoEncoderConfig):
        return _encoder(config, "")
    v, t = config.video, config.text
    tree = _encoder(v, "vision_encoder/")
    aux, text_stack = (k for k in LVT_STACKS if not k.startswith("vision_encoder/"))
    tree.update(_stack(aux, config.num_auxiliary_layers, v.width, v.num_heads, v.mlp_dim))
    hidden = config.pooler_hidden_multiplier * v.width
    pooler = "contrastive_vision_pooler"
    tree[f"{pooler}/pooling_attention_query"] = (1, v.width)
    for name in ("query", "key", "value"):
        tree[f"{pooler}/pooling_attention/{name}/w"] = (v.width, v.num_heads, hidden // v.num_heads)
        tree[f"{pooler}/pooling_attention/{name}/b"] = (v.num_heads, hidden // v.num_heads)
    tree[f"{pooler}/pooling_attention/post/w"] = (v.width, v.num_heads, hidden // v.num_heads)
    tree[f"{pooler}/pooling_attention/post/b"] = (v.width,)
    tree[f"{pooler}/pooling_attention/per_dim_scale/per_dim_scale"] = (hidden // v.num_heads,)
    tree[f"{pooler}/pooling_attention_layer_norm/scale"] = (v.width,)
    tree[f"{pooler}/pooling_attention_layer_norm/bias"] = (v.width,)
    tree["text_encoder/token_emb/emb_var"] = (t.vocab_size, t.width)
    tree["text_encoder/cls_emb"] = (1, 1, t.width)
    tree["text_encoder/unimodal_ln/scale"] = (t.width,)
    tree["text_encoder/unimodal_ln/bias"] = (t.width,)
    tree.update(_stack(text_stack, t.num_layers, t.width, t.num_heads, t.mlp_dim))
    return tree


def check_tree(
    expected: Mapping[str, Shape], actual: Mapping[str, Shape], source: str = "checkpoint"
) -> None:
    """Raise OfficialCheckpointError naming the first (in sorted key order) missing, extra or mis-shaped
    key, with the total number of problems; return silently when the trees are identical."""
    problems: list[str] = []
    for key in sorted(set(expected) | set(actual)):
        if key not in actual:
            problems.append(f"missing key 'params/{key}' (expected shape {list(expected[key])})")
        elif key not in expected:
            problems.append(f"unexpected key 'params/{key}' (shape {list(actual[key])})")
        elif tuple(expected[key]) != tuple(actual[key]):
            problems.append(
                f"mis-shaped key 'params/{key}': file has {list(actual[key])}, "
                f"the config expects {list(expected[key])}"
            )
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise OfficialCheckpointError(f"{source} does not match the model config: {problems[0]}{more}")
