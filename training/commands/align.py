"""`videoprism-train align`: LiT re-alignment of a text tower + pooler on a frozen stage-2 encoder.

videoprism-train align --out runs/lit --stage1 runs/s1/model --encoder runs/s2/model [--smoke]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from training.align import train_align
from training.checkpoint import tokenizer_path
from training.commands.common import add_common, load_pipeline_config
from training.engine.distributed import init_distributed, shutdown_distributed
from training.engine.sources import SyntheticSource


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--stage1", type=Path, required=True, help="stage-1 checkpoint (has tokenizer.model)")
    parser.add_argument("--encoder", type=Path, required=True, help="stage-2 encoder checkpoint")


def run(args: argparse.Namespace) -> int:
    config = load_pipeline_config(args).align
    config = dataclasses.replace(config, stage1=str(args.stage1), encoder=str(args.encoder))
    tokenizer = tokenizer_path(args.stage1)
    if tokenizer is None:
        raise SystemExit(f"{args.stage1} has no tokenizer.model")
    info = init_distributed()
    try:
        max_length = load_pipeline_config(args).stage1.model_config().text.max_length
        source = SyntheticSource(config.data, config.loop.global_batch, tokenizer, max_length)
        last = train_align(config, source, args.out, info, resume=args.resume, tokenizer=tokenizer)
    finally:
        shutdown_distributed()
    print({k: round(v, 4) for k, v in last.items()})
    return 0
