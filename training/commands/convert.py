"""`videoprism-train convert`: an official VideoPrism `.npz` -> this project's checkpoint directory."""

from __future__ import annotations

import argparse
import sys
import time

from training.model import presets

RELEASED = ("base", "large", "lvt_base", "lvt_large")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="official flax_*_repeated.npz file")
    parser.add_argument("--out", required=True, help="output checkpoint directory")
    parser.add_argument(
        "--preset",
        choices=sorted(presets),
        help=f"check the file against this preset (released: {', '.join(RELEASED)}); "
        "default: read every size from the array shapes",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config value the file cannot carry, e.g. atten_logit_cap=50.0 or image_size=288; official "
        "names (atten_logit_cap, model_dim, pos_emb_shape=16,16,16, ...) and our field names both work",
    )
    parser.add_argument(
        "--tokenizer",
        help="SentencePiece .model for LvT checkpoints (official: c4_en, 32k); without it the converted "
        "model is video-only",
    )
    parser.add_argument("--force", action="store_true", help="replace a non-empty --out directory")


def parse_overrides(items: list[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key.strip()] = value.strip()
    return overrides


def run(args: argparse.Namespace) -> int:
    from training.convert import OfficialCheckpointError, convert_official

    start = time.perf_counter()
    try:
        result = convert_official(
            args.checkpoint,
            args.out,
            preset=args.preset,
            overrides=parse_overrides(args.overrides),
            tokenizer=args.tokenizer,
            overwrite=args.force,
        )
    except (OfficialCheckpointError, ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    kind = type(result.config).__name__
    print(
        f"converted {args.checkpoint} -> {result.out_dir} ({kind}, {result.parameters:,d} parameters) in "
        f"{time.perf_counter() - start:.1f} s"
    )
    if result.video_only and kind == "VideoTextConfig":
        print("note: no --tokenizer given, so the converted model is video-only (text cannot be encoded)")
    return 0
