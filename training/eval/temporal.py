"""The temporal task, this world's SSv2 analogue: the direction of a reversible motion, where appearance
cannot help.

Every clip whose motion has a time reverse (left/right, up/down, clockwise/counter-clockwise, grow/shrink,
appear/disappear, approach/separate) enters twice: as rendered, and played backwards. The label is the
direction of the motion shown: 0 for the first member of each reverse pair (LEFT, UP, CLOCKWISE, GROW,
APPEAR, APPROACH), 1 for the second. Backwards, a clip shows its reverse motion, so the two copies carry the
same set of frames and opposite labels: anything computed from colour, from the unordered frame set, or
from a frame drawn without its position in time scores exactly chance (50 %) on the paired set. Only frame
order can tell them apart. (A frame *with* its position can: the first frame of "grow" shows a small
object. The frame-shuffled control of tests/eval/test_temporal_task.py is the check.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from training.data.synthetic import make_eval_set
from training.data.synthetic.dataset import SyntheticConfig
from training.data.synthetic.factors import Split
from training.data.synthetic.vocabulary import REVERSED_MOTION

CHANCE = 0.5
# Direction bit of each reversible motion: the enum puts each reverse pair at (2k, 2k + 1).
DIRECTION = {int(m): int(m) % 2 for m in REVERSED_MOTION}


@dataclass(frozen=True)
class TemporalSet:
    """frames [2N, T, H, W, 3] uint8 (rows 2i and 2i + 1: one clip forwards and backwards); label [2N];
    appearance [2N] (the shape x colour class, identical within a pair)."""

    frames: npt.NDArray[np.uint8]
    label: npt.NDArray[np.int64]
    appearance: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.label)


def make_temporal_set(split: Split, n: int, seed: int, config: SyntheticConfig) -> TemporalSet:
    """About n paired clips of `split` ("train" or "heldout" combos): draws clips until `n // 2` have a
    reversible motion, so the set is balanced and every pair shares its frames."""
    wanted = n // 2
    frames: list[npt.NDArray[np.uint8]] = []
    labels: list[int] = []
    appearance: list[int] = []
    draw = 0
    while len(frames) < 2 * wanted:
        # 12 of the 14 motions are reversible, so one chunk of the wanted pairs plus a few nearly always does.
        chunk = make_eval_set(split, n=wanted + 8, seed=seed * 1000 + draw, config=config)
        draw += 1
        for clip, motion, look in zip(chunk.frames, chunk.motion, chunk.appearance, strict=True):
            if int(motion) not in DIRECTION or len(frames) >= 2 * wanted:
                continue
            bit = DIRECTION[int(motion)]
            frames += [clip, clip[::-1].copy()]
            labels += [bit, 1 - bit]
            appearance += [int(look), int(look)]
    return TemporalSet(
        frames=np.stack(frames),
        label=np.array(labels, dtype=np.int64),
        appearance=np.array(appearance, dtype=np.int64),
    )


def shuffle_frames(frames: npt.NDArray[np.uint8], seed: int) -> npt.NDArray[np.uint8]:
    """Each clip's frames [N, T, ...] in an independent random order: the control that keeps every
    frame and its colours but destroys the order the temporal task depends on."""
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random(frames.shape[:2]), axis=1)
    return np.take_along_axis(frames, order.reshape(*order.shape, *([1] * (frames.ndim - 2))), axis=1)


def colour_histograms(frames: npt.NDArray[np.uint8], bins: int = 4) -> npt.NDArray[np.float32]:
    """Per clip, the normalised joint RGB histogram of all its pixels, [N, bins ** 3]: a colour-only,
    order-free feature, the reference for each task's "colour-only level"."""
    quantised = (frames.astype(np.int64) * bins) // 256  # (N, T, H, W, 3)
    codes = (quantised[..., 0] * bins + quantised[..., 1]) * bins + quantised[..., 2]
    flat = codes.reshape(len(frames), -1)
    hist = np.stack([np.bincount(row, minlength=bins**3) for row in flat]).astype(np.float32)
    return (hist / flat.shape[1]).astype(np.float32)


def chance_tolerance(n: int, p: float = CHANCE, z: float = 3.0) -> float:
    """Half-width of the z-sigma band of an accuracy measured on n independent items at true rate p."""
    return z * float(np.sqrt(p * (1.0 - p) / n))
