"""The example and batch types every data source produces, and the collate that turns one into the other.

A batch always comes from one source (alternating-source training), so it carries one `source` name.
Labels are -1 where a source has none (real corpora).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from videoprism_bundle.tokenizer import TextTokenizer

NO_LABEL = -1


@dataclass(frozen=True)
class VideoTextExample:
    """One clip and its caption. frames: [T, H, W, 3] uint8 (an image is a clip with T = 1)."""

    frames: npt.NDArray[np.uint8]
    caption: str
    source: str
    appearance: int = NO_LABEL
    motion: int = NO_LABEL
    combo: int = NO_LABEL
    foils: tuple[str, ...] = ()  # hard-negative captions (training.data.synthetic.foils); () for real corpora


@dataclass(frozen=True)
class VideoTextBatch:
    """B examples of one source.

    frames: [B, T, H, W, 3] uint8; appearance, motion, combo: [B] int64;
    text_ids: [B, L] int64 and text_paddings: [B, L] float32 (1.0 = pad), present when a tokenizer was given;
    foil_ids, foil_paddings: [B * F, L], example-major (rows b * F ... b * F + F - 1 are example b's F foils),
    present when a tokenizer was given and every example has F > 0 foils.
    """

    frames: torch.Tensor
    captions: tuple[str, ...]
    source: str
    appearance: torch.Tensor
    motion: torch.Tensor
    combo: torch.Tensor
    text_ids: torch.Tensor | None = None
    text_paddings: torch.Tensor | None = None
    foil_ids: torch.Tensor | None = None
    foil_paddings: torch.Tensor | None = None

    def video(self) -> torch.Tensor:
        """The model's video input: [B, T, H, W, 3] float32 in [0, 1], channels-last."""
        return self.frames.to(torch.float32).div_(255.0)


@dataclass(frozen=True)
class TokenizerSpec:
    """How captions are tokenised; a spec rather than a tokenizer so it can travel to worker processes."""

    model_file: Path
    max_length: int

    def build(self) -> TextTokenizer:
        return TextTokenizer(self.model_file, max_length=self.max_length)


def collate_examples(
    examples: Sequence[VideoTextExample], tokenizer: TextTokenizer | None = None, *, source: str | None = None
) -> VideoTextBatch:
    """Stack examples of one shape into a batch; tokenise the captions if a tokenizer is given.

    The batch is named `source` when given, else after its examples, which must then share one source.
    """
    if not examples:
        raise ValueError("cannot collate an empty batch")
    sources = {example.source for example in examples}
    if source is None and len(sources) != 1:
        raise ValueError(f"a batch must come from one source, got {sorted(sources)}")
    captions = tuple(example.caption for example in examples)
    foil_counts = {len(example.foils) for example in examples}
    if len(foil_counts) != 1:
        raise ValueError(
            f"examples of one batch must carry the same number of foils, got {sorted(foil_counts)}"
        )
    text_ids = text_paddings = foil_ids = foil_paddings = None
    if tokenizer is not None:
        tokens = tokenizer.encode_batch(captions)
        text_ids = torch.from_numpy(tokens.ids)
        text_paddings = torch.from_numpy(tokens.paddings)
        if foil_counts != {0}:
            foils = tokenizer.encode_batch([foil for example in examples for foil in example.foils])
            foil_ids = torch.from_numpy(foils.ids)
            foil_paddings = torch.from_numpy(foils.paddings)
    return VideoTextBatch(
        frames=torch.from_numpy(np.stack([example.frames for example in examples])),
        captions=captions,
        source=source if source is not None else sources.pop(),
        appearance=torch.tensor([example.appearance for example in examples], dtype=torch.int64),
        motion=torch.tensor([example.motion for example in examples], dtype=torch.int64),
        combo=torch.tensor([example.combo for example in examples], dtype=torch.int64),
        text_ids=text_ids,
        text_paddings=text_paddings,
        foil_ids=foil_ids,
        foil_paddings=foil_paddings,
    )
