"""`videoprism-train learnability`: how fast an encoder learns each factor of the synthetic world.

A diagnostic for the demo gap, with labels: trains a fresh encoder with a linear head per factor (shape
8-way, motion 14-way, colour 8-way; summed cross-entropies, AdamW) on the training stream and prints
validation accuracy on 256 other clips every `--every` steps. Encoders:

- `vit`: the `tiny` video encoder + auxiliary layer + sharp MAP pooler, as stage 1 trains it
  (`--patch 8` for 8x8 patches);
- `vit-conv-stem`: the same with `patch_stem="conv"` (training/model/video_encoder.py: stride-2 3x3
  convolutions instead of the linear patch projection, down to the same 4x4 token grid);
- `cnn-frame`: a 4-layer CNN with global max pooling on the middle frame only (shape and colour only):
  how fast the factor is learnable at all from these pixels.

    videoprism-train learnability --encoder vit --steps 600 [--lr 1e-3] [--threads 2]

With labels, this is an upper bound on how fast stage 1's contrastive signal can teach a factor.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch
from torch import nn

from training.data.synthetic.factors import split_appearance
from training.data.synthetic.vocabulary import NUM_MOTION_CLASSES, Colour, Shape
from training.engine.batch import ClipBatch
from training.engine.sources import SyntheticDataConfig, SyntheticSource
from training.model import VideoTextConfig, VideoTextModel, presets

HEADS = {"shape": len(Shape), "motion": NUM_MOTION_CLASSES, "colour": len(Colour)}


def labels(batch: ClipBatch) -> dict[str, torch.Tensor]:
    shape, colour = split_appearance(batch.labels["appearance"].numpy())
    return {
        "shape": torch.from_numpy(shape),
        "motion": batch.labels["motion"],
        "colour": torch.from_numpy(colour),
    }


class VitProbe(nn.Module):
    def __init__(self, config: VideoTextConfig) -> None:
        super().__init__()
        self.model = VideoTextModel(config)
        self.model.contrastive_vision_pooler.sharpen_init(8.0)
        del self.model.text_encoder
        self.heads = nn.Linear(config.video.width, sum(HEADS.values()))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.heads(self.model.pool_tokens(self.model.vision_encoder(frames)))


class FrameCnn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 3, 1, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(64, 96, 3, 2, 1), nn.ReLU(), nn.Conv2d(96, 96, 3, 1, 1), nn.ReLU(),
            nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(96, sum(HEADS.values())),
        )  # fmt: skip

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        middle = frames[:, frames.shape[1] // 2]
        return self.net(middle.permute(0, 3, 1, 2))


def split_logits(logits: torch.Tensor) -> dict[str, torch.Tensor]:
    out, start = {}, 0
    for name, size in HEADS.items():
        out[name] = logits[:, start : start + size]
        start += size
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoder", choices=["vit", "vit-conv-stem", "cnn-frame"], default="vit")
    parser.add_argument("--patch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=200)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0: torch's default")


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = presets["tiny"]
    assert isinstance(config, VideoTextConfig)
    if args.patch != config.video.patch_size:
        grid = config.video.image_size // args.patch
        config = dataclasses.replace(
            config, video=dataclasses.replace(config.video, patch_size=args.patch, pos_grid=grid)
        )
    source = SyntheticSource(SyntheticDataConfig(seed=0), args.batch, None, config.text.max_length)
    validation = [source.global_batch(10**7 + i) for i in range(256 // args.batch)]
    if args.encoder == "vit-conv-stem":
        config = dataclasses.replace(config, video=dataclasses.replace(config.video, patch_stem="conv"))
    model: nn.Module = FrameCnn() if args.encoder == "cnn-frame" else VitProbe(config)
    heads = ("shape", "colour") if args.encoder == "cnn-frame" else tuple(HEADS)
    optimizer = torch.optim.AdamW(model.parameters(), args.lr, betas=(0.9, 0.98))
    started = time.perf_counter()
    for step in range(args.steps + 1):
        if step % args.every == 0:
            model.eval()
            correct = dict.fromkeys(heads, 0.0)
            with torch.no_grad():
                for batch in validation:
                    logits, truth = split_logits(model(batch.video())), labels(batch)
                    for name in heads:
                        correct[name] += float((logits[name].argmax(1) == truth[name]).float().mean())
            accuracy = "  ".join(f"{n} {correct[n] / len(validation):.3f}" for n in heads)
            print(
                f"step {step:5d} ({step * args.batch} clips, {time.perf_counter() - started:6.0f} s)  {accuracy}"
            )
            model.train()
        if step == args.steps:
            break
        batch = source.global_batch(step)
        logits, truth = split_logits(model(batch.video())), labels(batch)
        loss = sum(nn.functional.cross_entropy(logits[n], truth[n]) for n in heads)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[union-attr]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    print(f"encoder {args.encoder}, patch {args.patch}, lr {args.lr}, batch {args.batch}")
    return 0
