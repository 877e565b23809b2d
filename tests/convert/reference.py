"""A float64 NumPy implementation of the official VideoPrism forward, written from official.md §2 alone.

It reads the official arrays directly (keys without `params/`, stacked layers), shares no code with
`training/`, and is for tiny configs only. It is checked against the official outputs of `parity_a`
(tests/convert/test_reference.py) and then used as the oracle for configurations no shared fixture covers:
downsampled position tables, frame paddings, another logit cap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

Arrays = Mapping[str, np.ndarray]
_MASKED = -0.7 * float(np.finfo(np.float32).max)
_erf = np.frompyfunc(math.erf, 1, 1)


def sub(arrays: Arrays, prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) + 1 :]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


def layer_norm(x: np.ndarray, scale: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-6) * (1.0 + scale) + bias


def gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.asarray(_erf(x / math.sqrt(2.0)), dtype=np.float64))


def resize_axis(table: np.ndarray, axis: int, out_size: int) -> np.ndarray:
    """jax.image.resize "bilinear" (antialias=True) along one axis, one output sample at a time: a
    triangle kernel at half-pixel centres, stretched by in/out when shrinking, weights normalised."""
    in_size = table.shape[axis]
    if in_size == out_size:
        return table
    moved = np.moveaxis(table, axis, 0)
    stretch = max(in_size / out_size, 1.0)
    rows = []
    for i in range(out_size):
        centre = (i + 0.5) * in_size / out_size - 0.5
        weights = np.array([max(0.0, 1.0 - abs(centre - j) / stretch) for j in range(in_size)])
        rows.append(np.tensordot(weights / weights.sum(), moved, axes=1))
    return np.moveaxis(np.stack(rows), 0, axis)


def attention(
    xq: np.ndarray,
    xkv: np.ndarray,
    p: Arrays,
    cap: float,
    allowed: np.ndarray | None,
    per_dim_scale: np.ndarray | None = None,
) -> np.ndarray:
    """xq [B, Tq, D], xkv [B, Tk, D]; p holds query/key/value/post `w` [D, H, dh] and `b`."""
    q = np.einsum("btd,dnh->btnh", xq, p["query/w"]) + p["query/b"]
    k = np.einsum("bsd,dnh->bsnh", xkv, p["key/w"]) + p["key/b"]
    v = np.einsum("bsd,dnh->bsnh", xkv, p["value/w"]) + p["value/b"]
    dh = q.shape[-1]
    if per_dim_scale is None:
        q = q * dh**-0.5
    else:
        q = q * (1.442695041 / math.sqrt(dh)) * np.log1p(np.exp(per_dim_scale))
    q, k, v = (a.transpose(0, 2, 1, 3) for a in (q, k, v))  # (B, H, T, dh)
    logits = q @ k.transpose(0, 1, 3, 2)
    if cap > 0:
        logits = cap * np.tanh(logits / cap)
    if allowed is not None:
        logits = np.where(allowed, logits, _MASKED)
    logits = logits - logits.max(-1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(-1, keepdims=True)
    out = (probs @ v).transpose(0, 2, 1, 3)  # (B, Tq, H, dh)
    return np.einsum("btnh,dnh->btd", out, p["post/w"]) + p["post/b"]


def stack(
    x: np.ndarray, p: Arrays, cap: float, act: str, paddings: np.ndarray | None = None, causal: bool = False
) -> np.ndarray:
    """Stacked pre-LN transformer over x [B, L, D]; p holds stacked arrays [layers, ...]."""
    batch, length, _ = x.shape
    pad = np.zeros((batch, length)) if paddings is None else paddings
    valid = pad == 0
    allowed = np.broadcast_to(valid[:, None, None, :], (batch, 1, length, length))
    if causal:
        lower = np.tril(np.ones((length, length), dtype=bool))
        allowed = allowed & lower[None, None] & valid[:, None, :, None]
    keep = (1.0 - pad)[..., None]
    for i in range(p["layer_norm/scale"].shape[0]):
        layer = {k: v[i] for k, v in p.items()}
        h = layer_norm(x, layer["layer_norm/scale"], layer["layer_norm/bias"])
        x = x + attention(h, h, sub(layer, "self_attention"), cap, allowed)
        h = layer_norm(x, layer["ff_layer/layer_norm/scale"], layer["ff_layer/layer_norm/bias"])
        h = h @ layer["ff_layer/ffn_layer1/linear/kernel"] + layer["ff_layer/ffn_layer1/linear/bias"]
        h = (gelu(h) if act == "gelu" else np.maximum(h, 0.0)) * keep
        h = (h @ layer["ff_layer/ffn_layer2/linear/kernel"] + layer["ff_layer/ffn_layer2/linear/bias"]) * keep
        x = x + h
    return x


def video_encoder(
    p: Arrays, video: np.ndarray, cap: float, frame_paddings: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Official FactorizedEncoder: -> `embeddings` and `spatial_features`, both [B, T*N, D]."""
    p = {k: np.asarray(v, np.float64) for k, v in p.items()}
    batch, time, side, _, _ = video.shape
    kernel = p["patch_projection/linear/kernel"]
    patch = math.isqrt(kernel.shape[0] // 3)
    grid = side // patch
    width = kernel.shape[1]
    frames = video.astype(np.float64).reshape(batch * time, grid, patch, grid, patch, 3)
    patches = frames.transpose(0, 1, 3, 2, 4, 5).reshape(batch * time, grid * grid, patch * patch * 3)
    x = patches @ kernel + p["patch_projection/linear/bias"]
    grid0 = math.isqrt(p["spatial_pos_emb/emb_var"].shape[0])
    table = p["spatial_pos_emb/emb_var"].reshape(grid0, grid0, width)
    table = resize_axis(resize_axis(table, 0, grid), 1, grid)
    x = x + table.reshape(grid * grid, width)
    n = grid * grid
    pad = None
    if frame_paddings is not None:
        pad = np.repeat(frame_paddings.astype(np.float64)[:, :, None], n, axis=2)  # (B, T, N)
    spatial_pad = None if pad is None else pad.reshape(batch * time, n)
    x = stack(x, sub(p, "spatial_encoder/transformers_stack/x_layers"), cap, "gelu", spatial_pad)
    x = layer_norm(x, p["spatial_ln/scale"], p["spatial_ln/bias"])
    spatial = x.reshape(batch, time * n, width)
    x = x.reshape(batch, time, n, width).transpose(0, 2, 1, 3).reshape(batch * n, time, width)
    x = x + resize_axis(p["temporal_pos_emb/emb_var"], 0, time)
    temporal_pad = None if pad is None else pad.transpose(0, 2, 1).reshape(batch * n, time)
    x = stack(x, sub(p, "temporal_encoder/transformers_stack/x_layers"), cap, "gelu", temporal_pad)
    x = layer_norm(x, p["temporal_ln/scale"], p["temporal_ln/bias"])
    tokens = x.reshape(batch, n, time, width).transpose(0, 2, 1, 3).reshape(batch, time * n, width)
    return {"embeddings": tokens, "spatial_features": spatial}


def l2_normalize(x: np.ndarray) -> np.ndarray:
    return x / np.sqrt((x * x).sum(-1, keepdims=True) + 1e-12)


def _pool(p: Arrays, tokens: np.ndarray) -> np.ndarray:
    query = np.broadcast_to(p["pooling_attention_query"][None], (tokens.shape[0], 1, tokens.shape[-1]))
    attn = sub(p, "pooling_attention")
    out = attention(query, tokens, attn, 0.0, None, attn["per_dim_scale/per_dim_scale"])
    ln = sub(p, "pooling_attention_layer_norm")
    return layer_norm(out, ln["scale"], ln["bias"])[:, 0]


def lvt_video(
    p: Arrays, video: np.ndarray, cap: float, frame_paddings: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Official FactorizedVideoCLIP video branch, every output the fixtures save."""
    p = {k: np.asarray(v, np.float64) for k, v in p.items()}
    enc = video_encoder(sub(p, "vision_encoder"), video, cap, frame_paddings)
    aux = stack(enc["embeddings"], sub(p, "auxiliary_encoder/transformers_stack/x_layers"), cap, "gelu")
    pooler = sub(p, "contrastive_vision_pooler")
    pooled = _pool(pooler, aux)
    batch, time = video.shape[:2]
    frames = _pool(pooler, aux.reshape(batch * time, -1, aux.shape[-1])).reshape(batch, time, -1)
    return {
        "video_embeddings": l2_normalize(pooled),
        "video_embeddings_unnormalized": pooled,
        "frame_embeddings": l2_normalize(frames),
        "spatiotemporal_features": enc["embeddings"],
        "spatial_features": enc["spatial_features"],
    }


def lvt_text(p: Arrays, ids: np.ndarray, paddings: np.ndarray, cap: float) -> dict[str, np.ndarray]:
    """Official text tower: -> `text_embeddings` (+ unnormalized) [B, D], `text_features_sequence`."""
    p = {k: np.asarray(v, np.float64) for k, v in sub(p, "text_encoder").items()}
    batch, length = ids.shape
    width = p["token_emb/emb_var"].shape[1]
    x = p["token_emb/emb_var"][ids] * math.sqrt(width)
    half = width // 2
    inv_freq = np.exp(-np.arange(half) * math.log(10000.0) / max(half - 1, 1))
    angles = np.arange(length)[:, None] * inv_freq[None, :]
    x = x + np.concatenate([np.sin(angles), np.cos(angles)], axis=1)
    cls = np.broadcast_to(p["cls_emb"] * math.sqrt(width), (batch, 1, width))
    x = np.concatenate([x, cls], axis=1)
    pad = np.concatenate([paddings.astype(np.float64), np.zeros((batch, 1))], axis=1)
    x = stack(x, sub(p, "unimodal_transformer/x_layers"), cap, "relu", pad, causal=True)
    seq = layer_norm(x, p["unimodal_ln/scale"], p["unimodal_ln/bias"])
    return {
        "text_embeddings": l2_normalize(seq[:, -1]),
        "text_embeddings_unnormalized": seq[:, -1],
        "text_features_sequence": seq,
    }
