"""`videoprism-train export`: a checkpoint directory -> a model bundle (ONNX graphs, tokenizer, manifest)."""

from __future__ import annotations

import argparse
from pathlib import Path

from training.export.bundle import BundleExportOptions, export_bundle, export_bundle_in_child
from training.export.onnx_export import OnnxExportConfig
from training.export.parity import (
    FP32_TOLERANCE,
    FULL_SIZE_GFLOPS,
    INT8_COSINE_MIN,
    VERIFY_BATCH_SIZES,
    check_parity_in_child,
)
from training.export.precision import PRECISIONS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="checkpoint directory (config.json + weights)"
    )
    parser.add_argument("--out", type=Path, required=True, help="bundle directory to write")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="default: %(default)s")
    parser.add_argument(
        "--with-tokens", action="store_true", help="video_encoder.onnx also outputs the tokens [B, T*N, D]"
    )
    parser.add_argument(
        "--model-name", help="default: the checkpoint's metadata model_name, else its directory name"
    )
    parser.add_argument("--model-version", default="1")
    parser.add_argument("--resize-mode", choices=("crop", "squash"), default="crop")
    parser.add_argument("--num-frames", type=int, help="frames per clip (default: the model's)")
    parser.add_argument("--image-size", type=int, help="frame side in pixels (default: the model's)")
    parser.add_argument("--opset", type=int, default=OnnxExportConfig().opset)
    parser.add_argument(
        "--no-rewrites",
        action="store_true",
        help="export the training modules as they are instead of their faster inference forms",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help=f"compare ONNX Runtime with PyTorch at batch {', '.join(map(str, VERIFY_BATCH_SIZES))} in a "
        f"separate process (fp32 fails above {FP32_TOLERANCE:g})",
    )


def run(args: argparse.Namespace) -> int:
    if args.opset < 17:
        print("error: --opset must be >= 17 (LayerNormalization)")
        return 2
    options = BundleExportOptions(
        precision=args.precision,
        with_tokens=args.with_tokens,
        model_name=args.model_name,
        model_version=args.model_version,
        resize_mode=args.resize_mode,
        num_frames=args.num_frames,
        image_size=args.image_size,
        onnx=OnnxExportConfig(opset=args.opset),
        inference_rewrites=not args.no_rewrites,
    )
    export = export_bundle_in_child if args.verify else export_bundle
    manifest = export(args.checkpoint, args.out, options)
    total = sum((args.out / name).stat().st_size for name in manifest.files_sha256)
    print(
        f"wrote {args.out}: {manifest.model_name} {manifest.precision}, {total / 1e6:.1f} MB, id {manifest.bundle_id}"
    )
    for name, digest in sorted(manifest.files_sha256.items()):
        print(f"  {name}  sha256 {digest}")
    if not args.verify:
        return 0
    worst = 0.0
    results = check_parity_in_child(args.checkpoint, args.out)
    for result in results:
        print(
            f"  parity {result.graph}.{result.output} batch {result.batch}: max abs error {result.max_abs_error:.2e}"
        )
        worst = max(worst, result.max_abs_error)
    if args.precision == "fp32" and worst > FP32_TOLERANCE:
        print(f"error: fp32 parity {worst:.2e} exceeds {FP32_TOLERANCE:g}")
        return 1
    cosine = min(r.min_cosine for r in results if r.output == "embeddings")
    print(f"  embeddings: min cosine to PyTorch fp32 {cosine:.5f}")
    full_size = (manifest.video_gflops_per_clip or 0.0) >= FULL_SIZE_GFLOPS
    if args.precision == "int8" and full_size and cosine < INT8_COSINE_MIN:
        print(
            f"error: int8 embeddings' cosine {cosine:.5f} to fp32 is below {INT8_COSINE_MIN} (full-size gate)"
        )
        return 1
    return 0
