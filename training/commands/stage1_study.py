"""`videoprism-train stage1-study`: one short stage-1 run of the recipe study in docs/results.md.

Then held-out retrieval and attribute matches.

    videoprism-train stage1-study --out runs/study/G --steps 900 --patch 16 [--lr 1e-3]
        [--batch 32] [--beta2 0.98] [--pooler-gain 8] [--group 0] [--stem linear] [--stem-frames 1] [--token-drop 0] [--drop-until 0]
        [--foils motion shape]
        [--threads 1] [--precision fp32]

The model is `tiny` with the given patch size and no logit cap. Prints the training throughput, the
retrieval metrics of `videoprism-train eval` (500 held-out clips) and, for each of colour, shape and motion,
how often the top-1 clip of a caption shares the query's value: which factor the model has not learnt yet.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from training.checkpoint import load_model_checkpoint
from training.data.synthetic import make_eval_set
from training.engine.loop import LoopConfig
from training.engine.sources import SyntheticDataConfig, SyntheticSource, ensure_tokenizer
from training.eval.attributes import factor_labels, top1_factor_matches
from training.eval.embed import encode_texts, encode_videos
from training.eval.retrieval import retrieval_metrics
from training.model import VideoTextConfig, VideoTextModel, presets
from training.stage1 import Stage1Config, train_stage1


def attribute_matches(model: VideoTextModel, tokenizer: Path, clips: int) -> dict[str, object]:
    heldout = make_eval_set("heldout", n=clips, seed=0)
    video = encode_videos(model, heldout.frames)
    text = encode_texts(model, list(heldout.captions), tokenizer)
    matches = top1_factor_matches(text @ video.T, factor_labels(heldout))
    return {**retrieval_metrics(video, text), **matches}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=25)
    parser.add_argument("--beta2", type=float, default=0.98)
    parser.add_argument("--patch", type=int, default=16, help="patch side of the 64x64 tiny model")
    parser.add_argument(
        "--stem",
        choices=["linear", "conv", "conv4"],
        default="linear",
        help="patch stem (VideoEncoderConfig)",
    )
    parser.add_argument("--stem-frames", type=int, default=1, help="frames the conv stem's first layer sees")
    parser.add_argument("--pooler-gain", type=float, default=8.0, help="0: the official pooler init")
    parser.add_argument("--group", type=int, default=0, help="hard-negative group size (0: off)")
    parser.add_argument("--twins", type=float, default=0.0, help="reversal twin rate (0: off)")
    parser.add_argument("--token-drop", type=float, default=0.0, help="tube token-drop ratio (Stage1Config)")
    parser.add_argument("--drop-until", type=int, default=0, help="last step with token drop (0: all)")
    parser.add_argument(
        "--foils", nargs="*", default=[], choices=["motion", "shape", "colour"],
        help="one foil caption per factor named (SyntheticConfig.foils)",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--eval-clips", type=int, default=500)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="LoopConfig.precision")


def run(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    base = presets["tiny"]
    assert isinstance(base, VideoTextConfig)
    video = dataclasses.replace(
        base.video,
        patch_size=args.patch,
        pos_grid=base.video.image_size // args.patch,
        atten_logit_cap=0.0,
        patch_stem=args.stem,
        stem_frames=args.stem_frames,
    )
    model_config = dataclasses.replace(base, video=video)
    data = SyntheticDataConfig(
        seed=0, hard_negative_group=args.group, reversal_twin_rate=args.twins, foils=tuple(args.foils)
    )
    loop = LoopConfig(
        total_steps=args.steps, global_batch=args.batch, peak_lr=args.lr, warmup_steps=args.warmup,
        decay="cosine", final_lr=1e-5, adam_beta2=args.beta2, log_every=10, precision=args.precision,
    )  # fmt: skip
    config = Stage1Config(
        loop=loop, model=model_config, token_drop=args.token_drop, token_drop_until=args.drop_until,
        pooler_logit_gain=args.pooler_gain, data=data,
    )  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer = ensure_tokenizer(data, args.out)
    source = SyntheticSource(data, args.batch, tokenizer, model_config.text.max_length)
    began = time.perf_counter()
    last = train_stage1(config, source, args.out / "stage1", tokenizer=tokenizer, progress=False, resume=True)
    seconds = time.perf_counter() - began
    print(f"trained {args.steps} steps in {seconds:.0f} s ({args.steps * args.batch / seconds:.1f} clips/s)")
    print({k: round(v, 4) for k, v in last.items()})
    trained = load_model_checkpoint(args.out / "stage1" / "model")
    assert isinstance(trained, VideoTextModel)
    result = attribute_matches(trained, tokenizer, args.eval_clips)
    text = json.dumps(result, indent=2)
    print(text)
    (args.out / "study.json").write_text(text + "\n")
    return 0
