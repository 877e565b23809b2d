"""`videoprism-train build-engine BUNDLE_DIR`: TensorRT engines (+ timing cache) recorded in the bundle.

Needs an NVIDIA GPU and the `gpu` extra. On any other machine it exits with status 3 and says why; the
bundle is left unchanged.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.export.tensorrt_engine import EngineBuildConfig, TensorRTUnavailable, build_engines

EXIT_NO_TENSORRT = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, help="bundle directory (fp32 or fp16) to add engines to")
    parser.add_argument("--fp16", action="store_true", help="let TensorRT use float16 kernels")
    parser.add_argument("--min-batch", type=int, default=1)
    parser.add_argument("--opt-batch", type=int, default=8, help="the batch TensorRT tunes for")
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--workspace-gib", type=float, default=4.0)
    parser.add_argument(
        "--graphs",
        default="video_encoder,text_encoder",
        help="comma-separated graphs to build (default: %(default)s; missing ones are skipped)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        config = EngineBuildConfig(
            min_batch=args.min_batch,
            opt_batch=args.opt_batch,
            max_batch=args.max_batch,
            fp16=args.fp16,
            workspace_gib=args.workspace_gib,
        )
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    graphs = tuple(g.strip() for g in args.graphs.split(",") if g.strip())
    unknown = set(graphs) - {"video_encoder", "text_encoder"}
    if unknown:
        print(f"error: unknown graphs {sorted(unknown)}; choose from video_encoder, text_encoder")
        return 2
    if not (args.bundle / "manifest.json").is_file():
        print(f"error: {args.bundle} is not a bundle (no manifest.json)")
        return 2
    try:
        manifest = build_engines(args.bundle, config, graphs)  # type: ignore[arg-type]
    except TensorRTUnavailable as exc:
        print(f"error: cannot build TensorRT engines on this machine: {exc}")
        return EXIT_NO_TENSORRT
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    for engine in manifest.tensorrt_engines:
        print(
            f"{engine.file}: {engine.source} fp16={engine.fp16} batch {engine.min_batch}/{engine.opt_batch}/"
            f"{engine.max_batch} on {engine.gpu_name} (sm {engine.compute_capability}, TensorRT {engine.tensorrt_version})"
        )
    return 0
