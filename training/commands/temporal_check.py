"""`videoprism-train temporal-check`: the temporal task on a bundle's pooled video embedding.

ONNX Runtime, no torch model needed: k-NN on ordered clips and on frame-shuffled ones, next to the task's
chance. A quick read of how much frame order a trained model keeps, before the ablation's frozen-token
probes.

    videoprism-train temporal-check --bundle service/demo_bundle [--train 1000] [--test 500]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from training.data.synthetic.dataset import TINY
from training.eval.probes import knn_accuracy
from training.eval.temporal import CHANCE, chance_tolerance, make_temporal_set, shuffle_frames
from training.export.parity import cpu_session
from videoprism_bundle.loader import load_bundle
from videoprism_bundle.tensor_names import EMBEDDINGS, VIDEO_INPUT


def embed(bundle_dir: Path, frames: npt.NDArray[np.uint8], batch: int = 32) -> torch.Tensor:
    bundle = load_bundle(bundle_dir)
    session = cpu_session(bundle.video_encoder)
    low, high = bundle.manifest.video.value_range
    out = []
    for start in range(0, len(frames), batch):
        clip = frames[start : start + batch].astype(np.float32) * np.float32((high - low) / 255.0) + low
        out.append(session.run([EMBEDDINGS], {VIDEO_INPUT: clip.astype(np.float32)})[0])
    return torch.from_numpy(np.concatenate(out))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--k", type=int, default=10)


def run(args: argparse.Namespace) -> int:
    train = make_temporal_set("train", args.train, 3000, TINY)
    test = make_temporal_set("heldout", args.test, 4000, TINY)
    y_train, y_test = torch.from_numpy(train.label), torch.from_numpy(test.label)
    ordered = knn_accuracy(
        embed(args.bundle, train.frames), y_train, embed(args.bundle, test.frames), y_test, args.k
    )
    shuffled = knn_accuracy(
        embed(args.bundle, shuffle_frames(train.frames, 1)),
        y_train,
        embed(args.bundle, shuffle_frames(test.frames, 2)),
        y_test,
        args.k,
    )
    band = chance_tolerance(len(test) // 2)
    print(
        f"{args.bundle}: temporal k-NN (k={args.k}, {len(train)} fit / {len(test)} scored clips) "
        f"ordered {100 * ordered:.1f} %, frame-shuffled {100 * shuffled:.1f} %, "
        f"chance {100 * CHANCE:.0f} % +- {100 * band:.1f} (3 sigma over pairs)"
    )
    return 0
