"""`videoprism-train diagnose-retrieval`: why a video-text model misses its held-out retrieval queries.

    videoprism-train diagnose-retrieval --model runs/demo/align/model \\
        [--tokenizer runs/demo/tokenizer.model] [--splits heldout train] [--clips 500] [--out FILE.json]

For each split ("heldout": unseen appearance x motion combos, the demo protocol; "train": seen combos from
the evaluation stream), prints text->video retrieval, how often the top-1 clip of a caption shares the
query's colour / shape / motion, the commonest wrong values, and how close each clip's embedding stays to
the same clip played backwards (near 1: the model barely reads the direction of time), and for R@5 misses
which clips rank above the own one (its own combo, or one differing in shape / motion / colour). Held-out close to
train means the model composes unseen combos as well as seen ones and the gap is a factor it has not
learnt; held-out far below train means it memorised combos.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from training.checkpoint import load_model_checkpoint
from training.data.synthetic import make_eval_set
from training.eval.attributes import (
    FACTORS,
    factor_labels,
    outranking_clips,
    time_reversal_similarity,
    top1_confusions,
    top1_factor_matches,
)
from training.eval.embed import encode_texts, encode_videos
from training.eval.retrieval import retrieval_metrics
from training.model import VideoTextModel


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="video-text checkpoint directory")
    parser.add_argument("--tokenizer", type=Path, help="default: MODEL/tokenizer.model, else MODEL/../../")
    parser.add_argument("--splits", nargs="+", default=["heldout", "train"], choices=["heldout", "train"])
    parser.add_argument("--clips", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the figures here as JSON")


def run(args: argparse.Namespace) -> int:
    tokenizer = args.tokenizer
    if tokenizer is None:
        candidates = [args.model / "tokenizer.model", args.model.parent.parent / "tokenizer.model"]
        tokenizer = next((c for c in candidates if c.exists()), None)
        if tokenizer is None:
            raise SystemExit(f"no tokenizer.model next to {args.model}; pass --tokenizer")
    model = load_model_checkpoint(args.model)
    if not isinstance(model, VideoTextModel):
        raise SystemExit(f"{args.model} is a video-only checkpoint; retrieval needs a text tower")
    report: dict[str, object] = {"model": str(args.model), "clips": args.clips}
    for split in args.splits:
        eval_set = make_eval_set(split, n=args.clips, seed=args.seed)
        video = encode_videos(model, eval_set.frames)
        text = encode_texts(model, list(eval_set.captions), tokenizer)
        similarity = text @ video.T
        labels = factor_labels(eval_set)
        retrieval = retrieval_metrics(video, text)
        matches = top1_factor_matches(similarity, labels)
        confusions = {f: top1_confusions(similarity, labels, f) for f in FACTORS}
        backwards = encode_videos(model, np.ascontiguousarray(eval_set.frames[:, ::-1]))
        reversal = time_reversal_similarity(video, backwards)
        intruders = outranking_clips(similarity, labels)
        report[split] = {**retrieval, **matches, **reversal, **intruders, "confusions": confusions}
        t2v = ", ".join(f"R@{k} {100 * retrieval[f't2v_R@{k}']:.1f} %" for k in (1, 5, 10))
        same = ", ".join(f"{f} {100 * matches[f'top1_same_{f}']:.1f} %" for f in FACTORS)
        print(f"{split}: t2v {t2v}; top-1 same {same}")
        for factor, pairs in confusions.items():
            listed = "; ".join(f"{asked} -> {got} ({n})" for asked, got, n in pairs)
            print(f"  commonest wrong {factor}: {listed or 'none'}")
        print(
            f"  cosine of a clip with itself played backwards {reversal['reversal_cosine']:.3f}, "
            f"with its nearest other clip {reversal['nearest_other_cosine']:.3f}"
        )
        kinds = ("same_combo", "shape_only", "motion_only", "shape_and_motion", "colour")
        above = ", ".join(f"{kind} {intruders[f'above_own_{kind}']:.2f}" for kind in kinds)
        print(f"  {intruders['misses']:.0f} R@5 misses; clips above the own clip per miss: {above}")
        print(
            f"  the own clip beats a clip of its own combo {100 * intruders['own_beats_same_combo']:.1f} % of the time"
        )
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0
