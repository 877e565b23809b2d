"""`videoprism-train stage1`: video-text contrastive training.

videoprism-train stage1 --out runs/s1 [--config training.configs.demo] [--smoke] [--resume]
torchrun --nproc-per-node 2 -m training.cli stage1 --out runs/s1     # data parallel (gloo on CPU)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.commands.common import add_common, load_pipeline_config
from training.engine.distributed import init_distributed, shutdown_distributed
from training.engine.sources import SyntheticSource, ensure_tokenizer
from training.stage1 import train_stage1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)


def run(args: argparse.Namespace) -> int:
    config = load_pipeline_config(args).stage1
    info = init_distributed()
    out: Path = args.out
    try:
        tokenizer = ensure_tokenizer(config.data, out)
        max_length = config.model_config().text.max_length
        source = SyntheticSource(config.data, config.loop.global_batch, tokenizer, max_length)
        last = train_stage1(config, source, out, info, resume=args.resume, tokenizer=tokenizer)
    finally:
        shutdown_distributed()
    print({k: round(v, 4) for k, v in last.items()})
    return 0
