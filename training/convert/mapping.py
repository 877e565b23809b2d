"""Rules that map official VideoPrism checkpoint arrays onto this project's PyTorch parameter names.

Official keys look like `params/<flax path>`; stacked layers keep a leading layer axis. Every rule below is
one of the transformations of the official layout (official.md §6.3), applied by pattern, not by a table.
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


def _attention(prefix: str, arrays: dict[str, np.ndarray]) -> Iterator[tuple[str, np.ndarray]]:
    """q/k/v `w` [D, H, dh] -> Linear weight [H*dh, D]; `post/w` [D, H, dh] -> [D, H*dh] (no transpose)."""
    for name in ("query", "key", "value"):
        w = arrays[f"{name}/w"]
        yield f"{prefix}.{name}.weight", w.reshape(w.shape[0], -1).T
        yield f"{prefix}.{name}.bias", arrays[f"{name}/b"].reshape(-1)
    post = arrays["post/w"]
    yield f"{prefix}.post.weight", post.reshape(post.shape[0], -1)
    yield f"{prefix}.post.bias", arrays["post/b"]


def _layer_norm(prefix: str, scale: np.ndarray, bias: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    # The official LayerNorm stores gamma - 1.
    yield f"{prefix}.weight", scale + 1.0
    yield f"{prefix}.bias", bias


def _dense(prefix: str, kernel: np.ndarray, bias: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    yield f"{prefix}.weight", kernel.T
    yield f"{prefix}.bias", bias


def _stack(prefix: str, arrays: dict[str, np.ndarray]) -> Iterator[tuple[str, np.ndarray]]:
    """One stacked transformer: arrays are [L, ...]; layer i goes to `{prefix}.layers.{i}`."""
    num_layers = arrays["layer_norm/scale"].shape[0]
    for i in range(num_layers):
        layer = {k: v[i] for k, v in arrays.items()}
        p = f"{prefix}.layers.{i}"
        yield from _layer_norm(f"{p}.layer_norm", layer["layer_norm/scale"], layer["layer_norm/bias"])
        yield from _attention(
            f"{p}.self_attention",
            {
                k.removeprefix("self_attention/"): v
                for k, v in layer.items()
                if k.startswith("self_attention/")
            },
        )
        ff = {k.removeprefix("ff_layer/"): v for k, v in layer.items() if k.startswith("ff_layer/")}
        yield from _layer_norm(f"{p}.ff_layer.layer_norm", ff["layer_norm/scale"], ff["layer_norm/bias"])
        for j in (1, 2):
            yield from _dense(
                f"{p}.ff_layer.ffn_layer{j}",
                ff[f"ffn_layer{j}/linear/kernel"],
                ff[f"ffn_layer{j}/linear/bias"],
            )


def _subtree(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k.removeprefix(prefix + "/"): v for k, v in arrays.items() if k.startswith(prefix + "/")}


def _video_encoder(arrays: dict[str, np.ndarray], prefix: str) -> Iterator[tuple[str, np.ndarray]]:
    """The factorized encoder's arrays (keys relative to its root) -> names under `prefix`."""
    kernel = arrays["patch_projection/linear/kernel"]  # [P*P*3, D], rows ordered (row, col, channel)
    yield from _dense(f"{prefix}patch_projection", kernel, arrays["patch_projection/linear/bias"])
    yield f"{prefix}spatial_pos_emb", arrays["spatial_pos_emb/emb_var"]
    yield f"{prefix}temporal_pos_emb", arrays["temporal_pos_emb/emb_var"]
    yield from _layer_norm(f"{prefix}spatial_ln", arrays["spatial_ln/scale"], arrays["spatial_ln/bias"])
    yield from _layer_norm(f"{prefix}temporal_ln", arrays["temporal_ln/scale"], arrays["temporal_ln/bias"])
    for official, torch_name in VIDEO_STACKS.items():
        yield from _stack(f"{prefix}{torch_name}", _subtree(arrays, official))


def map_video_encoder(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Official video-encoder arrays (keys without `params/`) -> VideoEncoder state dict arrays."""
    return dict(_video_encoder(arrays, ""))


def map_video_text(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Official LvT arrays (keys without `params/`) -> VideoTextModel state dict arrays."""
    out = dict(_video_encoder(_subtree(arrays, "vision_encoder"), "vision_encoder."))
    out.update(_stack("auxiliary_encoder", _subtree(arrays, "auxiliary_encoder/transformers_stack/x_layers")))
    pooler = _subtree(arrays, "contrastive_vision_pooler")
    out["contrastive_vision_pooler.pooling_attention_query"] = pooler["pooling_attention_query"]
    attn = _subtree(pooler, "pooling_attention")
    out.update(_attention("contrastive_vision_pooler.pooling_attention", attn))
    out["contrastive_vision_pooler.pooling_attention.per_dim_scale"] = attn["per_dim_scale/per_dim_scale"]
    out.update(
        _layer_norm(
            "contrastive_vision_pooler.pooling_attention_layer_norm",
            pooler["pooling_attention_layer_norm/scale"],
            pooler["pooling_attention_layer_norm/bias"],
        )
    )
    text = _subtree(arrays, "text_encoder")
    out["text_encoder.token_emb.weight"] = text["token_emb/emb_var"]
    out["text_encoder.cls_emb"] = text["cls_emb"]
    out.update(_layer_norm("text_encoder.unimodal_ln", text["unimodal_ln/scale"], text["unimodal_ln/bias"]))
    out.update(_stack("text_encoder.unimodal_transformer", _subtree(text, "unimodal_transformer/x_layers")))
    return out
