"""`videoprism-train ablation`: the stage-2 ablation at one scale, its table, levels and verdicts.

Resumable (see `training.runs.ablation`); writes `runs/ablation_<scale>/` and, for the demo and reduced
scales, this scale's block of docs/results.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.configs.ablation import SCALES
from training.eval.results_report import render_report, write_docs_block
from training.runs.ablation import levels, run_ablation

REPO = Path(__file__).resolve().parents[2]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", choices=sorted(SCALES), default="demo")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, help="run directory (default runs/ablation_<scale>)")
    parser.add_argument("--report-only", action="store_true", help="only re-render existing results")
    parser.add_argument(
        "--write-docs", action=argparse.BooleanOptionalAction, default=None,
        help="replace this scale's block of docs/results.md (default: on for demo and reduced)",
    )  # fmt: skip
    parser.add_argument("--progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    out: Path = args.out or REPO / "runs" / f"ablation_{args.scale}"
    configs = {seed: SCALES[args.scale](seed) for seed in args.seeds}
    if args.report_only:
        results = json.loads((out / "results.json").read_text())
    else:
        results = run_ablation(configs, out, progress=args.progress)
    seeds = " ".join(map(str, args.seeds))
    command = f"videoprism-train ablation --scale {args.scale} --seeds {seeds}"
    block = render_report(results, levels(configs[args.seeds[0]], out), command)
    (out / "report.md").write_text(block + "\n")
    print(block)
    write = args.write_docs if args.write_docs is not None else args.scale in ("demo", "reduced")
    if write:
        write_docs_block(REPO / "docs" / "results.md", args.scale, block)
    return 0
