"""`videoprism-train eval`: held-out zero-shot retrieval and frozen-feature probes of a checkpoint.

    videoprism-train eval --model runs/demo/align/model --out runs/demo/eval_full.json
    videoprism-train eval --model runs/demo/stage2/model --out ...   # encoder-only: probes only

Retrieval: each caption of N held-out clips (unseen appearance x motion combos) ranked against all N
clips; a hit is the query's own clip (training.eval.retrieval). Probes: training.eval.probe_suite.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.checkpoint import load_model_checkpoint, tokenizer_path
from training.engine.sources import SyntheticDataConfig
from training.eval.probe_suite import ProbeSuiteConfig, probe_encoder
from training.eval.probes import ProbeConfig
from training.eval.report import evaluate_retrieval_runs
from training.model import VideoTextModel


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="model checkpoint directory")
    parser.add_argument("--out", type=Path, help="write the results JSON here")
    parser.add_argument("--clips", type=int, default=500, help="held-out retrieval clips")
    parser.add_argument("--probe-train", type=int, default=1000)
    parser.add_argument("--probe-test", type=int, default=500)
    parser.add_argument("--probe-steps", type=int, default=300, help="attention-probe training steps")
    parser.add_argument("--no-probes", action="store_true")
    parser.add_argument("--split-seed", type=int, default=0, help="must match the training data config")


def run(args: argparse.Namespace) -> int:
    data = SyntheticDataConfig(split_seed=args.split_seed)
    model = load_model_checkpoint(args.model)
    results: dict[str, object] = {"model": str(args.model)}
    tokenizer = tokenizer_path(args.model)
    if isinstance(model, VideoTextModel) and tokenizer is not None:
        results["retrieval"] = evaluate_retrieval_runs({"model": args.model}, tokenizer, data, args.clips)
    if not args.no_probes:
        encoder = model.vision_encoder if isinstance(model, VideoTextModel) else model
        suite = ProbeSuiteConfig(
            train_clips=args.probe_train,
            test_clips=args.probe_test,
            probe=ProbeConfig(steps=args.probe_steps),
        )
        results["probes"] = probe_encoder(encoder, data, suite)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0
