"""Synthetic video-text datasets: a lazily rendered training stream and fixed evaluation sets.

Example `i` of a dataset depends only on (seed, stream, split, i), never on worker count or visiting
order, so any loader layout yields the same clips.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from torch.utils.data import Dataset

from training.data.examples import VideoTextExample
from training.data.synthetic.captions import make_caption, make_noisy_caption
from training.data.synthetic.factors import (
    ClipFactors,
    Split,
    make_combo_split,
    sample_factors,
    split_combo,
)
from training.data.synthetic.foils import FoilFactor, foil_factors, states_a_false_detail
from training.data.synthetic.render import ClipLatents, draw_latents, render_clip
from training.data.synthetic.vocabulary import REVERSED_MOTION

# Training streams and evaluation sets draw from disjoint seed sequences, so an evaluation clip is never
# also a training clip, whatever seeds the caller picks.
TRAIN_STREAM: Final = 1
EVAL_STREAM: Final = 2
_SPLIT_CODE: Final[dict[str, int]] = {"train": 0, "heldout": 1, "all": 2}


@dataclass(frozen=True)
class SyntheticConfig:
    """Clip geometry and the combo split. `tiny` (the default) is 8 frames of 64x64."""

    num_frames: int = 8
    height: int = 64
    width: int = 64
    split_seed: int = 0  # which combos are held out; keep it fixed across a project's runs
    heldout_modulus: int = 5  # about 1 / heldout_modulus of the combos are held out
    noisy_caption_rate: float = 0.0  # fraction of captions reduced to appearance only, like alt-text
    # > 0: consecutive runs of this many examples share one factor (colour, shape or motion, drawn per run),
    # so a contrastive batch holds hard negatives for shape and motion, which independent clips mostly tell
    # apart by colour alone. Measured at 900 stage-1 steps: no gain (docs/results.md), so off in the demo.
    # 0: every example independent (evaluation sets).
    hard_negative_group: int = 0
    # Probability that odd example 2k+1 is example 2k played backwards (REVERSED_MOTION, same latents,
    # its own caption), when the reversed combo is in the split. Both then share a batch, so the
    # contrastive loss must read the direction of time, which independent clips rarely ask of it: time
    # reversals are the demo model's commonest motion error (`videoprism-train diagnose-retrieval`).
    # Measured at 0.5: slower from scratch and no gain late (docs/results.md), so off in the demo.
    reversal_twin_rate: float = 0.0
    # One foil caption per entry: the example's caption with that factor changed (training.data.synthetic.foils),
    # for the contrastive loss to use as hard text negatives. () keeps examples foil-free; clips and
    # captions are the same either way.
    foils: tuple[FoilFactor, ...] = ()


TINY: Final = SyntheticConfig()


class SyntheticVideoText(Dataset[VideoTextExample]):
    """`length` synthetic clips of one split; `examples(shard, num_shards)` streams them endlessly."""

    def __init__(
        self,
        config: SyntheticConfig = TINY,
        *,
        split: Split = "train",
        seed: int = 0,
        length: int = 1_000_000,
        stream: int = TRAIN_STREAM,
        source: str = "synthetic",
    ) -> None:
        self.config = config
        self.split: Split = split
        self.seed = seed
        self.length = length
        self.stream = stream
        self.source = source
        self._combos = make_combo_split(config.split_seed, config.heldout_modulus).combos(split)
        self._combo_set = frozenset(int(c) for c in self._combos)
        self._group_combos = _shared_factor_combos(self._combos) if config.hard_negative_group > 0 else []

    def __len__(self) -> int:
        return self.length

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng(
            np.random.SeedSequence([self.seed, self.stream, _SPLIT_CODE[self.split], index])
        )

    def _combos_at(self, index: int) -> np.ndarray:
        """The combos example `index` draws from: the split's, or its hard-negative group's subset."""
        size = self.config.hard_negative_group
        if size <= 0:
            return self._combos
        group = np.random.default_rng(
            np.random.SeedSequence([self.seed, self.stream, _SPLIT_CODE[self.split], index // size, 0x6E6])
        )
        return self._group_combos[int(group.integers(len(self._group_combos)))]

    def factors_at(self, index: int) -> ClipFactors:
        """The factors of example `index` without rendering it (cheap: for label statistics)."""
        return self._describe(index)[0]

    def __getitem__(self, index: int) -> VideoTextExample:
        if not 0 <= index < self.length:
            raise IndexError(index)
        return self._example(index)

    def caption_at(self, index: int) -> str:
        """The caption of example `index` without rendering it (cheap: for tokenizer corpora)."""
        return self._describe(index)[2]

    def foils_at(self, index: int) -> tuple[str, ...]:
        """The foil captions of example `index` (one per `SyntheticConfig.foils` entry), without rendering."""
        return self._describe(index)[3]

    def _draw(self, index: int) -> tuple[np.random.Generator, ClipFactors, ClipLatents]:
        """Example `index`'s own factors and latents, and its generator positioned after them."""
        rng = self._rng(index)
        factors = sample_factors(rng, self._combos_at(index))
        return rng, factors, draw_latents(rng)

    def _describe(self, index: int) -> tuple[ClipFactors, ClipLatents, str, tuple[str, ...]]:
        rng, factors, latents = self._draw(index)
        twin = self._reversal_twin(index)
        if twin is not None:
            factors, latents = twin
        noisy = rng.random() < self.config.noisy_caption_rate
        write = make_noisy_caption if noisy else make_caption
        # Foils are written from copies of the caption's generator, so each draws the same template and
        # synonyms as the caption, and the caption itself comes out as it would without foils.
        foils = tuple(
            self._foil_caption(index, k, factors, changed, write, copy.deepcopy(rng), noisy)
            for k, changed in enumerate(self.config.foils)
        )
        return factors, latents, write(factors, rng), foils

    def _foil_caption(
        self,
        index: int,
        k: int,
        factors: ClipFactors,
        changed: FoilFactor,
        write: Callable[[ClipFactors, np.random.Generator], str],
        caption_rng: np.random.Generator,
        noisy: bool,
    ) -> str:
        # A noisy caption names only the object, so its motion or details foil would be the caption itself.
        changed = "shape" if noisy and changed in ("motion", "details") else changed
        choice = np.random.default_rng(
            np.random.SeedSequence([self.seed, self.stream, _SPLIT_CODE[self.split], index, 0xF01, k])
        )
        foil = foil_factors(factors, changed, self._combo_set, choice)
        caption = write(foil, copy.deepcopy(caption_rng))
        if changed == "details" and not states_a_false_detail(caption, foil, factors):
            # The caption mentions no detail, so nothing but the object could be foiled.
            caption = write(foil_factors(factors, "shape", self._combo_set, choice), caption_rng)
        return caption

    def _reversal_twin(self, index: int) -> tuple[ClipFactors, ClipLatents] | None:
        """For an odd index drawn as a twin: example index - 1's factors with the motion reversed, and
        its latents (so the frames are exactly reversed); None otherwise."""
        rate = self.config.reversal_twin_rate
        if rate <= 0 or index % 2 == 0:
            return None
        pair = np.random.default_rng(
            np.random.SeedSequence([self.seed, self.stream, _SPLIT_CODE[self.split], index // 2, 0x7E1])
        )
        if pair.random() >= rate:
            return None
        _, base, latents = self._draw(index - 1)
        reversed_motion = REVERSED_MOTION.get(base.motion)
        if reversed_motion is None:
            return None
        factors = dataclasses.replace(base, motion=reversed_motion)
        if factors.combo_id not in self._combo_set:
            return None
        return factors, latents

    def _example(self, index: int) -> VideoTextExample:
        factors, latents, caption, foils = self._describe(index)
        config = self.config
        frames = render_clip(
            factors, latents, num_frames=config.num_frames, height=config.height, width=config.width
        )
        return VideoTextExample(
            frames=frames,
            caption=caption,
            source=self.source,
            appearance=factors.appearance_label,
            motion=factors.motion_label,
            combo=factors.combo_id,
            foils=foils,
        )

    def examples(self, shard: int, num_shards: int) -> Iterator[VideoTextExample]:
        """Examples shard, shard + num_shards, ... without end (indices past `length` are fresh clips)."""
        index = shard
        while True:
            yield self._example(index)
            index += num_shards


def _shared_factor_combos(combos: np.ndarray) -> list[np.ndarray]:
    """Every non-empty subset of `combos` that shares one colour, one shape or one motion."""
    shape, colour, motion = (np.array(v) for v in zip(*(split_combo(int(c)) for c in combos), strict=True))
    groups = []
    for values in (colour, shape, motion):
        for value in np.unique(values):
            groups.append(combos[values == value])
    return groups


@dataclass(frozen=True)
class EvalSet:
    """A fixed evaluation set. frames: [N, T, H, W, 3] uint8; appearance, motion, combo: [N] int64."""

    frames: npt.NDArray[np.uint8]
    captions: tuple[str, ...]
    appearance: npt.NDArray[np.int64]
    motion: npt.NDArray[np.int64]
    combo: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.captions)


def make_eval_set(
    split: Split = "heldout", n: int = 500, seed: int = 0, config: SyntheticConfig = TINY
) -> EvalSet:
    """n clips of `split`: "heldout" (unseen combos), "train" (seen combos) or "all" (the probe split,
    where appearance and motion labels are exactly independent)."""
    dataset = SyntheticVideoText(config, split=split, seed=seed, length=n, stream=EVAL_STREAM)
    examples = [dataset[i] for i in range(n)]
    return EvalSet(
        frames=np.stack([example.frames for example in examples]),
        captions=tuple(example.caption for example in examples),
        appearance=np.array([example.appearance for example in examples], dtype=np.int64),
        motion=np.array([example.motion for example in examples], dtype=np.int64),
        combo=np.array([example.combo for example in examples], dtype=np.int64),
    )
