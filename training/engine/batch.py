"""The batch the trainers consume, and the protocol of anything that produces one per step.

A source is asked for the batch of a given *step* (not for "the next" batch), so the data order is a pure
function of (seed, step): resuming at step s sees exactly the batches an uninterrupted run would, and data
parallel ranks slice one global batch, which makes N-process training equal single-process training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import torch


@dataclass(frozen=True)
class ClipBatch:
    """frames uint8 [B, T, H, W, 3]; token_ids int64 [B, L]; paddings float [B, L] (1 = pad);
    labels: name -> int64 [B] (e.g. "appearance", "motion"); foil_ids, foil_paddings [B * F, L]: F hard
    negative captions per clip, example-major (training.data.synthetic.foils), or None."""

    frames: torch.Tensor
    token_ids: torch.Tensor | None = None
    paddings: torch.Tensor | None = None
    labels: dict[str, torch.Tensor] = field(default_factory=dict)
    foil_ids: torch.Tensor | None = None
    foil_paddings: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    def video(self) -> torch.Tensor:
        """frames as float32 in [0, 1], the encoder's input convention."""
        return self.frames.float() / 255.0

    def shard(self, rank: int, world_size: int) -> ClipBatch:
        """This rank's contiguous slice of a global batch (rank order = all-gather order)."""
        size = len(self)
        if size % world_size:
            raise ValueError(f"global batch {size} is not divisible by {world_size} ranks")
        per = size // world_size
        sl = slice(rank * per, (rank + 1) * per)
        foils = 0 if self.foil_ids is None else self.foil_ids.shape[0] // size
        foil_rows = slice(rank * per * foils, (rank + 1) * per * foils)
        return ClipBatch(
            frames=self.frames[sl],
            token_ids=None if self.token_ids is None else self.token_ids[sl],
            paddings=None if self.paddings is None else self.paddings[sl],
            labels={k: v[sl] for k, v in self.labels.items()},
            foil_ids=None if self.foil_ids is None else self.foil_ids[foil_rows],
            foil_paddings=None if self.foil_paddings is None else self.foil_paddings[foil_rows],
        )


class BatchSource(Protocol):
    def global_batch(self, step: int) -> ClipBatch:
        """The whole global batch of optimizer step `step`; deterministic in (source seed, step)."""
        ...
