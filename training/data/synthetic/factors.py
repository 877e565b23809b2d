"""What one synthetic clip shows (its discrete factors), its labels, and the train/held-out combo split.

Labels:
  appearance = shape * len(Colour) + colour      (64 classes; the K400-like appearance task)
  motion     = Motion value                      (14 classes; the SSv2-like motion task)
  combo      = appearance * NUM_MOTION_CLASSES + motion
Size, texture, backdrop and speed are nuisance factors: drawn independently and uniformly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt

from training.data.synthetic.vocabulary import (
    NUM_APPEARANCE_CLASSES,
    NUM_COMBOS,
    NUM_MOTION_CLASSES,
    Backdrop,
    BackdropColour,
    Colour,
    Motion,
    Shape,
    Size,
    Speed,
    Texture,
)

Split = Literal["train", "heldout", "all"]


@dataclass(frozen=True)
class ClipFactors:
    """The discrete content of one clip; every field varies independently of the others."""

    shape: Shape
    colour: Colour
    size: Size
    texture: Texture
    backdrop: Backdrop
    backdrop_colour: BackdropColour
    motion: Motion
    speed: Speed

    @property
    def appearance_label(self) -> int:
        return appearance_label(self.shape, self.colour)

    @property
    def motion_label(self) -> int:
        return int(self.motion)

    @property
    def combo_id(self) -> int:
        return combo_id(self.appearance_label, self.motion_label)


def appearance_label(shape: Shape, colour: Colour) -> int:
    return int(shape) * len(Colour) + int(colour)


Labels = TypeVar("Labels", int, npt.NDArray[np.int64])


def split_appearance(appearance: Labels) -> tuple[Labels, Labels]:
    """Inverse of `appearance_label`, for one label or an array of them: (shape, colour)."""
    return appearance // len(Colour), appearance % len(Colour)


def combo_id(appearance: int, motion: int) -> int:
    return appearance * NUM_MOTION_CLASSES + motion


def split_combo(combo: int) -> tuple[Shape, Colour, Motion]:
    """Inverse of `combo_id`: the shape, colour and motion a combo id stands for."""
    appearance, motion = divmod(combo, NUM_MOTION_CLASSES)
    shape, colour = split_appearance(appearance)
    return Shape(shape), Colour(colour), Motion(motion)


@dataclass(frozen=True)
class ComboSplit:
    """A fixed partition of the (appearance, motion) combos into train combos and held-out combos."""

    heldout: frozenset[int]

    def combos(self, split: Split) -> np.ndarray:
        """Sorted combo ids of a split: int64 [n]."""
        every = np.arange(NUM_COMBOS, dtype=np.int64)
        if split == "all":
            return every
        is_heldout = np.isin(every, np.fromiter(self.heldout, dtype=np.int64))
        return every[is_heldout] if split == "heldout" else every[~is_heldout]


def make_combo_split(seed: int = 0, heldout_modulus: int = 5) -> ComboSplit:
    """Hold out about 1/heldout_modulus of the combos, so every appearance and motion stays in training.

    Combo (a, m) is held out when (pa[a] + pm[m]) % heldout_modulus == 0, with pa, pm seeded permutations:
    a diagonal pattern, so each appearance loses only 2-3 of its 14 motions and each motion about 13 of its
    64 appearances, and no row or column is ever held out whole.
    """
    if heldout_modulus < 2 or heldout_modulus > NUM_MOTION_CLASSES:
        raise ValueError(f"heldout_modulus must be in [2, {NUM_MOTION_CLASSES}], got {heldout_modulus}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5E1]))
    perm_appearance = rng.permutation(NUM_APPEARANCE_CLASSES)
    perm_motion = rng.permutation(NUM_MOTION_CLASSES)
    held = (perm_appearance[:, None] + perm_motion[None, :]) % heldout_modulus == 0  # [A, M]
    appearance_ids, motion_ids = np.nonzero(held)
    return ComboSplit(
        heldout=frozenset(combo_id(int(a), int(m)) for a, m in zip(appearance_ids, motion_ids, strict=True))
    )


def sample_factors(rng: np.random.Generator, combos: np.ndarray) -> ClipFactors:
    """Draw a combo uniformly from `combos` (int64 [n]), then every nuisance factor uniformly."""
    shape, colour, motion = split_combo(int(combos[rng.integers(len(combos))]))
    return ClipFactors(
        shape=shape,
        colour=colour,
        size=Size(int(rng.integers(len(Size)))),
        texture=Texture(int(rng.integers(len(Texture)))),
        backdrop=Backdrop(int(rng.integers(len(Backdrop)))),
        backdrop_colour=BackdropColour(int(rng.integers(len(BackdropColour)))),
        motion=motion,
        speed=Speed(int(rng.integers(len(Speed)))),
    )
