"""`videoprism-train stage2`: masked video modelling distilled from a frozen stage-1 model.

videoprism-train stage2 --out runs/s2 --teacher runs/s1/model [--config MODULE] [--smoke] [--resume]
[--no-shuffle] [--no-global] [--no-token] [--mask-kind tube] [--mask-ratio 0.75]   # ablations
"""

from __future__ import annotations

import argparse
import dataclasses

from training.commands.common import add_common, load_pipeline_config
from training.engine.distributed import init_distributed, shutdown_distributed
from training.engine.sources import SyntheticSource
from training.stage2 import train_stage2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--teacher", required=True, help="stage-1 model checkpoint directory")
    parser.add_argument("--mask-kind", choices=["bevt", "tube", "random"])
    parser.add_argument("--mask-ratio", type=float)
    parser.add_argument("--no-shuffle", action="store_true")
    parser.add_argument("--no-global", action="store_true")
    parser.add_argument("--no-token", action="store_true")


def run(args: argparse.Namespace) -> int:
    config = load_pipeline_config(args).stage2
    overrides: dict[str, object] = {"teacher": args.teacher}
    if args.mask_kind:
        overrides["mask_kind"] = args.mask_kind
    if args.mask_ratio is not None:
        overrides["mask_ratio"] = args.mask_ratio
    if args.no_shuffle:
        overrides["shuffle"] = False
    if args.no_global:
        overrides["global_branch"] = False
    if args.no_token:
        overrides["token_branch"] = False
    config = dataclasses.replace(config, **overrides)  # type: ignore[arg-type]
    info = init_distributed()
    try:
        source = SyntheticSource(config.data, config.loop.global_batch, None, 1)
        last = train_stage2(config, source, args.out, info, resume=args.resume)
    finally:
        shutdown_distributed()
    print({k: round(v, 4) for k, v in last.items()})
    return 0
