"""Test doubles for the trainers: a deterministic random batch source (no rendering) and micro configs."""

from __future__ import annotations

import torch

from training.engine.batch import ClipBatch
from training.engine.loop import LoopConfig


class RandomSource:
    """Random uint8 clips and token ids, a pure function of (seed, step), with a few repeated 'classes' so
    there is something to learn: clip content and caption are both derived from a class id. With `foils`
    > 0 each clip also carries that many foil captions: the captions of the next classes."""

    def __init__(
        self,
        batch: int,
        frames: int = 4,
        side: int = 32,
        vocab: int = 64,
        length: int = 8,
        seed: int = 0,
        foils: int = 0,
    ):
        self.batch, self.frames, self.side, self.vocab, self.length, self.seed = (
            batch,
            frames,
            side,
            vocab,
            length,
            seed,
        )
        self.foils = foils
        gen = torch.Generator().manual_seed(seed)
        self.prototypes = torch.randint(0, 256, (8, frames, side, side, 3), generator=gen, dtype=torch.uint8)
        self.captions = torch.randint(1, vocab, (8, length), generator=gen)

    def global_batch(self, step: int) -> ClipBatch:
        gen = torch.Generator().manual_seed(self.seed * 100_003 + step)
        classes = torch.randint(0, 8, (self.batch,), generator=gen)
        noise = torch.randint(0, 32, (self.batch, self.frames, self.side, self.side, 3), generator=gen)
        frames = (self.prototypes[classes].int() + noise).clamp(0, 255).to(torch.uint8)
        paddings = torch.zeros(self.batch, self.length)
        paddings[:, -2:] = 1.0
        foil_classes = (classes[:, None] + torch.arange(1, self.foils + 1)).flatten() % 8
        return ClipBatch(
            frames=frames,
            token_ids=self.captions[classes],
            paddings=paddings,
            labels={"appearance": classes, "motion": classes % 4},
            foil_ids=self.captions[foil_classes] if self.foils else None,
            foil_paddings=paddings[:1].expand(len(foil_classes), -1) if self.foils else None,
        )


def tiny_loop(steps: int = 4, batch: int = 8, **overrides: object) -> LoopConfig:
    base: dict[str, object] = dict(
        total_steps=steps, global_batch=batch, peak_lr=1e-3, warmup_steps=1, log_every=1
    )
    base.update(overrides)
    return LoopConfig(**base)  # type: ignore[arg-type]
