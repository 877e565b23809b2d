"""Regenerate the committed demo bundle `service/demo_bundle/`.

    python -m training.export.make_demo_bundle [--out DIR] [--checkpoint CKPT]

Without --checkpoint it exports a seeded random `tiny` model (seed 0) with a tokenizer trained on generated
captions: a placeholder with the real bundle layout, so the service starts on a fresh machine before the
trained demo model exists. The output is byte-for-byte reproducible (fixed seed, fixed timestamp).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch

from training.export.bundle import BundleExportOptions, export_bundle, export_model_bundle
from training.export.demo_tokenizer import train_tokenizer
from training.model import TextEncoderConfig, VideoTextConfig, build_model, presets

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "service" / "demo_bundle"
DEMO_NAME = "videoprism-tiny-demo"
PLACEHOLDER_SOURCE = "random-init seed 0 (placeholder until the trained demo model exists)"
# A fixed timestamp keeps the manifest, and so the bundle id, identical across regenerations.
DEMO_CREATED_AT = "2026-01-01T00:00:00Z"
SEED = 0


def make_placeholder_bundle(out_dir: Path) -> None:
    config = presets["tiny"]
    assert isinstance(config, VideoTextConfig) and isinstance(config.text, TextEncoderConfig)
    torch.manual_seed(SEED)
    model = build_model(config)
    options = BundleExportOptions(
        model_name=DEMO_NAME, model_version="0-placeholder", created_at=DEMO_CREATED_AT
    )
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = train_tokenizer(Path(tmp) / "tokenizer.model", vocab_size=config.text.vocab_size)
        export_model_bundle(
            model,
            out_dir,
            tokenizer_file=tokenizer,
            source_checkpoint=PLACEHOLDER_SOURCE,
            model_name=DEMO_NAME,
            options=options,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="bundle directory (default: %(default)s)"
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="export this trained tiny checkpoint instead of the random placeholder",
    )
    args = parser.parse_args(argv)
    if args.checkpoint is not None:
        options = BundleExportOptions(model_name=DEMO_NAME, created_at=DEMO_CREATED_AT)
        export_bundle(args.checkpoint, args.out, options)
    else:
        make_placeholder_bundle(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
