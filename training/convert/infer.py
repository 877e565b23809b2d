"""Resolve the model config of an official checkpoint: sizes from array shapes, the rest from a preset or
overrides.

A file carries every size (width, heads, MLP width, layer counts, patch size, position grid, vocabulary);
it cannot carry the attention logit cap, the default image size or the tokenizer length. Those come from the
preset, from overrides, or from the values every released model uses (cap 50, native resolution, 64 tokens).
Override keys accept the official configuration names (`model_dim`, `pos_emb_shape`, ...) and ours.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

from training.convert.npz import OfficialCheckpointError
from training.model import (
    ModelConfig,
    TextEncoderConfig,
    VideoEncoderConfig,
    VideoTextConfig,
    presets,
)

Shape = tuple[int, ...]
_SPATIAL = "spatial_encoder/transformers_stack/x_layers"
_TEMPORAL = "temporal_encoder/transformers_stack/x_layers"
_AUX = "auxiliary_encoder/transformers_stack/x_layers"
_TEXT = "text_encoder/unimodal_transformer/x_layers"
_POOL = "contrastive_vision_pooler/pooling_attention"

# Official configuration name -> the (section, field) pairs it sets; sections: video, text, lvt.
OFFICIAL_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "model_dim": (("video", "width"), ("text", "width")),
    "num_heads": (("video", "num_heads"), ("text", "num_heads")),
    "atten_logit_cap": (("video", "atten_logit_cap"), ("text", "atten_logit_cap")),
    "mlp_dim": (("video", "mlp_dim"),),  # vision towers only; the text MLP is hard-wired to 4 * width
    "patch_size": (("video", "patch_size"),),
    "num_spatial_layers": (("video", "num_spatial_layers"),),
    "num_temporal_layers": (("video", "num_temporal_layers"),),
    "num_auxiliary_layers": (("lvt", "num_auxiliary_layers"),),
    "vocabulary_size": (("text", "vocab_size"),),
    "num_unimodal_layers": (("text", "num_layers"),),
    "text_max_length": (("text", "max_length"),),
    # Our own names that are not fields of a single section.
    "width": (("video", "width"), ("text", "width")),
    "vocab_size": (("text", "vocab_size"),),
    "num_layers": (("text", "num_layers"),),
    "max_length": (("text", "max_length"),),
}
# Official flags with one supported value: accepted when they hold it, refused otherwise.
_FIXED = {"norm_policy": "pre", "enable_causal_atten": True, "temporal_patch_size": 1}
_IGNORED = {"scan"}  # layer scanning only changes how the official code runs, not its numbers
_SECTIONS: dict[str, type] = {"video": VideoEncoderConfig, "text": TextEncoderConfig, "lvt": VideoTextConfig}


def is_lvt(shapes: Mapping[str, Shape]) -> bool:
    return any(k.startswith("vision_encoder/") for k in shapes)


def _get(shapes: Mapping[str, Shape], key: str, ndim: int) -> Shape:
    if key not in shapes:
        raise OfficialCheckpointError(f"missing key 'params/{key}' (needed to read the model sizes)")
    shape = shapes[key]
    if len(shape) != ndim:
        raise OfficialCheckpointError(f"mis-shaped key 'params/{key}': {list(shape)} is not {ndim}-D")
    return shape


def _square_root(value: int, what: str, key: str) -> int:
    root = math.isqrt(value)
    if root * root != value:
        raise OfficialCheckpointError(f"mis-shaped key 'params/{key}': {what} {value} is not a square")
    return root


def _infer_video(shapes: Mapping[str, Shape], root: str) -> dict[str, Any]:
    kernel_key = f"{root}patch_projection/linear/kernel"
    rows, width = _get(shapes, kernel_key, 2)
    if rows % 3:
        raise OfficialCheckpointError(f"mis-shaped key 'params/{kernel_key}': {rows} rows is not P*P*3")
    spatial_key = f"{root}spatial_pos_emb/emb_var"
    q = _get(shapes, f"{root}{_SPATIAL}/self_attention/query/w", 4)
    return {
        "width": width,
        "patch_size": _square_root(rows // 3, "patch rows / 3", kernel_key),
        "pos_grid": _square_root(_get(shapes, spatial_key, 2)[0], "spatial positions", spatial_key),
        "num_frames": _get(shapes, f"{root}temporal_pos_emb/emb_var", 2)[0],
        "num_heads": q[2],
        "mlp_dim": _get(shapes, f"{root}{_SPATIAL}/ff_layer/ffn_layer1/linear/kernel", 3)[2],
        "num_spatial_layers": q[0],
        "num_temporal_layers": _get(shapes, f"{root}{_TEMPORAL}/layer_norm/scale", 2)[0],
    }


def infer_sizes(shapes: Mapping[str, Shape]) -> dict[str, dict[str, Any]]:
    """Every size the shapes carry, per section (`video`, and for LvT files `text` and `lvt`)."""
    if not is_lvt(shapes):
        return {"video": _infer_video(shapes, "")}
    video = _infer_video(shapes, "vision_encoder/")
    text_q = _get(shapes, f"{_TEXT}/self_attention/query/w", 4)
    pool_q = _get(shapes, f"{_POOL}/query/w", 3)
    hidden = pool_q[1] * pool_q[2]
    if hidden % video["width"]:
        raise OfficialCheckpointError(
            f"mis-shaped key 'params/{_POOL}/query/w': pooler width {hidden} is not a multiple of "
            f"the model width {video['width']}"
        )
    return {
        "video": video,
        "text": {
            "vocab_size": _get(shapes, "text_encoder/token_emb/emb_var", 2)[0],
            "width": text_q[1],
            "num_heads": text_q[2],
            "num_layers": text_q[0],
            "mlp_dim": _get(shapes, f"{_TEXT}/ff_layer/ffn_layer1/linear/kernel", 3)[2],
        },
        "lvt": {
            "num_auxiliary_layers": _get(shapes, f"{_AUX}/layer_norm/scale", 2)[0],
            "pooler_hidden_multiplier": hidden // video["width"],
        },
    }


def parse_value(text: str) -> Any:
    """A `--set` value: JSON when it parses (`5.0`, `[8,8,8]`, `true`), comma lists (`8,8,8`), else text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        if "," in text:
            return [parse_value(part.strip()) for part in text.split(",")]
        return text


def _coerce(section: str, name: str, value: Any) -> Any:
    field_type = {f.name: f.type for f in dataclasses.fields(_SECTIONS[section])}[name]
    if isinstance(value, str):
        value = parse_value(value)
    if field_type in ("int", int):
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise ValueError(f"override {name}={value!r}: expected an integer")
        return int(value)
    if field_type in ("float", float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"override {name}={value!r}: expected a number")
        return float(value)
    return value


def _targets(key: str) -> tuple[tuple[str, str], ...]:
    """The (section, field) pairs an override key sets."""
    if key in OFFICIAL_NAMES:
        return OFFICIAL_NAMES[key]
    if "." in key:
        section, name = key.split(".", 1)
        if section in _SECTIONS and name in {f.name for f in dataclasses.fields(_SECTIONS[section])}:
            return ((section, name),)
    hits = tuple(
        (s, key)
        for s in ("video", "lvt")
        if key in {f.name for f in dataclasses.fields(_SECTIONS[s])} and key not in ("video", "text")
    )
    if hits:
        return hits
    raise ValueError(f"unknown override {key!r}; use an official config name or one of our config fields")


def apply_overrides(
    sections: dict[str, dict[str, Any]], overrides: Mapping[str, Any], lvt: bool
) -> dict[str, dict[str, Any]]:
    """Apply `overrides` to per-section field dicts (a new dict is returned)."""
    out = {k: dict(v) for k, v in sections.items()}
    for key, value in overrides.items():
        if key in _IGNORED:
            continue
        given = parse_value(value) if isinstance(value, str) else value
        if key in _FIXED:
            if given != _FIXED[key]:
                raise ValueError(f"override {key}={value!r} is not supported (only {_FIXED[key]!r})")
            continue
        if key == "pos_emb_shape":
            frames, grid_h, grid_w = (int(v) for v in given)
            if grid_h != grid_w:
                raise ValueError(f"pos_emb_shape {value!r}: only square spatial grids are supported")
            out["video"].update(num_frames=frames, pos_grid=grid_h)
            continue
        for section, name in _targets(key):
            if section != "video" and not lvt:
                if len(_targets(key)) > 1:
                    continue  # e.g. model_dim also names the text width, which a video model has not
                raise ValueError(f"override {key!r} applies to video-text (LvT) models only")
            out[section][name] = _coerce(section, name, value)
    return out


def resolve_config(
    shapes: Mapping[str, Shape], preset: str | None = None, overrides: Mapping[str, Any] | None = None
) -> ModelConfig:
    """The config to build: the preset (or the sizes read from `shapes`) with `overrides` applied. The
    caller still checks the file against the result (`tree.check_tree`)."""
    lvt = is_lvt(shapes)
    overrides = dict(overrides or {})
    if preset is not None:
        if preset not in presets:
            raise ValueError(f"unknown preset {preset!r}; choose from {sorted(presets)}")
        base = presets[preset]
        if isinstance(base, VideoTextConfig) != lvt:
            kinds = ("a video-text (LvT)", "a video-only")
            raise OfficialCheckpointError(
                f"preset {preset!r} is {kinds[not isinstance(base, VideoTextConfig)]} model but the "
                f"file is {kinds[not lvt]} checkpoint"
            )
        if isinstance(base, VideoTextConfig):
            sections = {
                "video": dataclasses.asdict(base.video),
                "text": dataclasses.asdict(base.text),
                "lvt": {f: getattr(base, f) for f in ("num_auxiliary_layers", "pooler_hidden_multiplier")},
            }
        else:
            sections = {"video": dataclasses.asdict(base)}
    else:
        sections = infer_sizes(shapes)
        sections["video"]["image_size"] = None  # filled after overrides: native resolution by default
        if lvt:
            sections["text"]["max_length"] = TextEncoderConfig().max_length
    sections = apply_overrides(sections, overrides, lvt)
    video = sections["video"]
    if video.get("image_size") is None:
        video["image_size"] = video["patch_size"] * video["pos_grid"]
    video_config = VideoEncoderConfig(**video)
    if not lvt:
        return video_config
    text = sections["text"]
    # The official text tower shares the vision cap unless an override set the text one on its own.
    if "text.atten_logit_cap" not in overrides:
        text["atten_logit_cap"] = video_config.atten_logit_cap
    return VideoTextConfig(video=video_config, text=TextEncoderConfig(**text), **sections["lvt"])
