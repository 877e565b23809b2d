"""`videoprism-train info`: the model presets, their shapes and parameter counts (on the meta device)."""

from __future__ import annotations

import argparse

import torch

from training.model import VideoTextConfig, build_model, presets


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=sorted(presets), help="only this preset")


def run(args: argparse.Namespace) -> int:
    names = [args.preset] if args.preset else list(presets)
    for name in names:
        config = presets[name]
        with torch.device("meta"):
            count = sum(p.numel() for p in build_model(config).parameters())
        video = config.video if isinstance(config, VideoTextConfig) else config
        kind = "video+text" if isinstance(config, VideoTextConfig) else "video"
        print(
            f"{name:10s} {kind:10s} params={count:>12,d} width={video.width} frames={video.num_frames} "
            f"image={video.image_size} patch={video.patch_size} layers={video.num_spatial_layers}+{video.num_temporal_layers}"
        )
    return 0
