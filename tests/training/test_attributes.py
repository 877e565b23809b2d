"""Top-1 factor matches and confusions on hand-built similarities with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.data.synthetic import EvalSet
from training.data.synthetic.vocabulary import Colour, Motion, Shape
from training.eval.attributes import (
    factor_labels,
    outranking_clips,
    time_reversal_similarity,
    top1_confusions,
    top1_factor_matches,
)


def _labels() -> dict[str, np.ndarray]:
    # four clips: (shape, colour, motion) = (square, red, left), (disc, red, left), (square, blue, right),
    # (star, blue, up)
    shape = np.array([Shape.SQUARE, Shape.DISC, Shape.SQUARE, Shape.STAR])
    colour = np.array([Colour.RED, Colour.RED, Colour.BLUE, Colour.BLUE])
    motion = np.array([Motion.LEFT, Motion.LEFT, Motion.RIGHT, Motion.UP])
    eval_set = EvalSet(
        frames=np.zeros((4, 1, 1, 1, 3), dtype=np.uint8),
        captions=("a", "b", "c", "d"),
        appearance=(shape * len(Colour) + colour).astype(np.int64),
        motion=motion.astype(np.int64),
        combo=np.arange(4, dtype=np.int64),
    )
    return factor_labels(eval_set)


def test_labels_split_appearance_into_shape_and_colour() -> None:
    labels = _labels()
    assert labels["shape"].tolist() == [Shape.SQUARE, Shape.DISC, Shape.SQUARE, Shape.STAR]
    assert labels["colour"].tolist() == [Colour.RED, Colour.RED, Colour.BLUE, Colour.BLUE]


def test_matches_and_confusions_follow_the_top1_clip() -> None:
    labels = _labels()
    # caption 0 picks clip 1 (same colour and motion, wrong shape), caption 3 picks clip 2 (same colour,
    # wrong shape and motion); captions 1 and 2 find themselves
    top1 = [1, 1, 2, 2]
    similarity = torch.full((4, 4), -1.0)
    similarity[torch.arange(4), torch.tensor(top1)] = 1.0
    matches = top1_factor_matches(similarity, labels)
    assert matches == {"top1_same_colour": 1.0, "top1_same_shape": 0.5, "top1_same_motion": 0.75}
    assert top1_confusions(similarity, labels, "shape") == [("square", "disc", 1), ("star", "square", 1)]
    assert top1_confusions(similarity, labels, "motion") == [("up", "right", 1)]
    assert top1_confusions(similarity, labels, "colour") == []


def test_confusions_are_ordered_by_count_and_truncated() -> None:
    labels = _labels()
    similarity = torch.zeros(4, 4)
    similarity[:, 3] = 1.0  # every caption picks the blue star moving up
    pairs = top1_confusions(similarity, labels, "shape", most=1)
    assert pairs == [("square", "star", 2)]


def test_time_reversal_similarity_tells_an_order_blind_embedding_from_an_order_aware_one() -> None:
    video = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.0, 0.0, 1.0]]), dim=1
    )
    blind = time_reversal_similarity(video, video.clone())
    assert blind["reversal_cosine"] == pytest.approx(1.0)
    # nearest other clips: 0 <-> 1 at cosine 0.8, clip 2 at 0 to both
    assert blind["nearest_other_cosine"] == pytest.approx((0.8 + 0.8 + 0.0) / 3)
    aware = time_reversal_similarity(video, -video)
    assert aware["reversal_cosine"] == pytest.approx(-1.0)
    assert aware["nearest_other_cosine"] == blind["nearest_other_cosine"]


def test_outranking_clips_sorts_the_intruders_of_a_miss_by_what_they_share() -> None:
    # Six clips (shape, colour, motion): 0 and 1 one combo (square, red, left); 2 (disc, red, left);
    # 3 (square, red, right); 4 (disc, red, right); 5 (square, blue, left).
    labels = {
        "shape": np.array([Shape.SQUARE, Shape.SQUARE, Shape.DISC, Shape.SQUARE, Shape.DISC, Shape.SQUARE]),
        "colour": np.array([Colour.RED] * 5 + [Colour.BLUE]),
        "motion": np.array([Motion.LEFT, Motion.LEFT, Motion.LEFT, Motion.RIGHT, Motion.RIGHT, Motion.LEFT]),
    }
    similarity = torch.eye(6)  # every caption finds its own clip first ...
    similarity[0] = torch.tensor([0.1, 0.9, 0.8, 0.7, 0.6, 0.5])  # ... but caption 0 ranks it last
    report = outranking_clips(similarity, labels, k=5)
    assert report["misses"] == 1.0
    assert report["above_own_same_combo"] == 1.0  # clip 1
    assert report["above_own_shape_only"] == 1.0  # clip 2
    assert report["above_own_motion_only"] == 1.0  # clip 3
    assert report["above_own_shape_and_motion"] == 1.0  # clip 4
    assert report["above_own_colour"] == 1.0  # clip 5
    # Pairs of one combo: (0, 1), where clip 1 wins, and (1, 0), where the own clip wins.
    assert report["own_beats_same_combo"] == 0.5
    assert outranking_clips(similarity, labels, k=6)["misses"] == 0.0
