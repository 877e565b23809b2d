"""`videoprism-train demo`: train the tiny demo model (stage 1 -> stage 2 -> align) and evaluate it.

    videoprism-train demo --out runs/demo --seed 0

The final video-text checkpoint is OUT/align/model (safetensors + config.json + tokenizer.model);
OUT/eval.json holds held-out retrieval. Re-running the command resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.engine.distributed import init_distributed, shutdown_distributed
from training.runs.pipeline import STAGES, run_pipeline


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="run directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="the seconds-long smoke variant (micro model)")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {STAGES}")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from training.configs import demo

    config = demo.smoke(args.seed) if args.smoke else demo.config(args.seed)
    info = init_distributed()
    try:
        results = run_pipeline(
            config, args.out, tuple(args.stages.split(",")), info, progress=not args.no_progress
        )
    finally:
        shutdown_distributed()
    if results:
        print(json.dumps(results, indent=2))
    return 0
