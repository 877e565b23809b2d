"""Which factor a retrieval model has not learnt yet: how often a caption's top-1 clip shares its colour,
shape and motion, and which value it takes instead.

Retrieval recall says how often the own clip is found; these say why it is missed. A model that has
solved colour but not shape picks a clip of the right colour and the wrong shape, so its colour match is
near 1 and its shape match near 1/8 (chance over the 8 shapes).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import numpy.typing as npt
import torch

from training.data.synthetic import EvalSet
from training.data.synthetic.factors import split_appearance
from training.data.synthetic.vocabulary import Colour, Motion, Shape

FACTORS = ("colour", "shape", "motion")
_NAMES: dict[str, type[Colour] | type[Shape] | type[Motion]] = {
    "colour": Colour,
    "shape": Shape,
    "motion": Motion,
}


def factor_labels(eval_set: EvalSet) -> dict[str, npt.NDArray[np.int64]]:
    """colour, shape and motion label of every clip."""
    shape, colour = split_appearance(eval_set.appearance)
    return {"colour": colour, "shape": shape, "motion": eval_set.motion}


def top1_factor_matches(
    similarity: torch.Tensor, labels: dict[str, npt.NDArray[np.int64]]
) -> dict[str, float]:
    """similarity [Q, N] (caption i against clip j; clip i is caption i's own) -> top1_same_<factor>."""
    top1 = similarity.argmax(dim=1).numpy()
    return {f"top1_same_{name}": float((value[top1] == value).mean()) for name, value in labels.items()}


def top1_confusions(
    similarity: torch.Tensor, labels: dict[str, npt.NDArray[np.int64]], factor: str, most: int = 5
) -> list[tuple[str, str, int]]:
    """The `most` commonest (asked, got) value pairs of `factor` where the top-1 clip gets it wrong."""
    top1 = similarity.argmax(dim=1).numpy()
    value = labels[factor]
    names = _NAMES[factor]
    wrong = Counter(
        (names(int(asked)).name.lower(), names(int(got)).name.lower())
        for asked, got in zip(value, value[top1], strict=True)
        if asked != got
    )
    return [(asked, got, count) for (asked, got), count in wrong.most_common(most)]


def time_reversal_similarity(video: torch.Tensor, reversed_video: torch.Tensor) -> dict[str, float]:
    """Unit-norm embeddings [N, D] of clips and of the same clips played backwards -> the mean cosine of a
    clip with its reversal, and with its nearest other clip.

    A model that reads the direction of time puts a reversal (a different motion: left vs right) further
    away than the nearest clip of another content; one that sees a clip as a set of frames gives ~1."""
    similarity = video @ video.T
    similarity.fill_diagonal_(float("-inf"))
    return {
        "reversal_cosine": float((video * reversed_video).sum(dim=1).mean()),
        "nearest_other_cosine": float(similarity.max(dim=1).values.mean()),
    }


def outranking_clips(
    similarity: torch.Tensor, labels: dict[str, npt.NDArray[np.int64]], k: int = 5
) -> dict[str, float]:
    """What ranks above a caption's own clip when R@k misses it, by which factors the intruder shares.

    similarity [Q, N] with clip i caption i's own. Returns the number of misses, then for them the mean
    count of higher-ranked clips of the query's own combo ("same_combo": every caption fits them, so only
    the details a caption mentions, such as size or backdrop, can rank the own clip first), of clips that
    differ only in shape, only in motion, in both (colour shared), and in colour; and over all queries, how
    often the own clip beats a clip of its own combo ("own_beats_same_combo": 0.5 when the model ignores
    every detail, 1 when it reads them all).
    """
    own = similarity.diagonal()[:, None]
    above = (similarity > own).numpy()
    colour, shape, motion = (labels[name] for name in ("colour", "shape", "motion"))
    same_colour = colour[:, None] == colour[None, :]
    same_shape = shape[:, None] == shape[None, :]
    same_motion = motion[:, None] == motion[None, :]
    same_combo = same_colour & same_shape & same_motion
    misses = above.sum(axis=1) >= k
    kinds = {
        "same_combo": same_combo,
        "shape_only": same_colour & ~same_shape & same_motion,
        "motion_only": same_colour & same_shape & ~same_motion,
        "shape_and_motion": same_colour & ~same_shape & ~same_motion,
        "colour": ~same_colour,
    }
    report = {"misses": float(misses.sum())}
    for name, kind in kinds.items():
        report[f"above_own_{name}"] = (
            float((above & kind)[misses].sum(axis=1).mean()) if misses.any() else 0.0
        )
    others = same_combo & ~np.eye(len(colour), dtype=bool)
    report["own_beats_same_combo"] = float((~above[others]).mean()) if others.any() else float("nan")
    return report
