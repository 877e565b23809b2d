"""Arguments the training subcommands share: output directory, config module, seed, smoke, resume."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from training.configs.pipeline import PipelineConfig


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="run directory")
    parser.add_argument(
        "--config", default="training.configs.demo", help="config module with config(seed) and smoke(seed)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="use the module's smoke variant")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/state")


def load_pipeline_config(args: argparse.Namespace) -> PipelineConfig:
    module = importlib.import_module(args.config)
    config = module.smoke(args.seed) if args.smoke else module.config(args.seed)
    if not isinstance(config, PipelineConfig):
        raise TypeError(f"{args.config} must return a PipelineConfig")
    return config
