"""`videoprism-train`: one entry point, one module per subcommand.

Each subcommand module exposes `add_arguments(parser)` and `run(args) -> int`; add new ones to COMMANDS.
Modules are imported only when their command runs, so `--help` stays fast and a broken optional dependency
of one command does not take down the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> (module path, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("training.commands.info", "print the presets and their parameter counts"),
    "demo": ("training.commands.demo", "train the tiny demo model: stage 1 -> stage 2 -> align -> eval"),
    "stage1": ("training.commands.stage1", "stage 1: video-text contrastive training"),
    "stage2": ("training.commands.stage2", "stage 2: masked video modelling with global-local distillation"),
    "align": ("training.commands.align", "LiT re-alignment of a text tower + pooler on a frozen encoder"),
    "eval": ("training.commands.eval", "held-out retrieval and frozen-feature probes of a checkpoint"),
    "export": (
        "training.commands.export",
        "export a checkpoint to a model bundle (ONNX + tokenizer + manifest)",
    ),
    "build-engine": ("training.commands.build_engine", "build a TensorRT engine for a bundle (needs a GPU)"),
    "convert": ("training.commands.convert", "convert an official VideoPrism .npz checkpoint"),
    "ablation": ("training.commands.ablation", "the stage-2 ablation at one scale: table, levels, verdicts"),
    "stage1-study": ("training.commands.stage1_study", "one short stage-1 recipe run + attribute matches"),
    "diagnose-retrieval": (
        "training.commands.diagnose_retrieval",
        "why a video-text model misses held-out retrieval queries",
    ),
    "learnability": ("training.commands.learnability", "how fast labelled heads learn each synthetic factor"),
    "temporal-check": ("training.commands.temporal_check", "temporal k-NN on a bundle's video embeddings"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videoprism-train", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_module, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        build_parser().parse_args(argv)  # prints usage / the error for an unknown command and exits
        return 2
    name = argv[0]
    module_path, help_text = COMMANDS[name]
    module = importlib.import_module(module_path)
    parser = argparse.ArgumentParser(prog=f"videoprism-train {name}", description=help_text)
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    return int(module.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
