"""The temporal task can only be solved from frame order: with the order destroyed (frames shuffled within
each clip) a classifier that does well on ordered clips falls to chance, and colour alone is exactly at
chance. Tolerance: 3 binomial sigmas at p = 0.5 over the number of *pairs* (the two copies of a pair share
their frames, so they are not independent items); 150 test pairs give +-12.2 points."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
import torch

from training.data.synthetic.dataset import TINY
from training.eval.probes import knn_accuracy
from training.eval.temporal import (
    CHANCE,
    chance_tolerance,
    colour_histograms,
    make_temporal_set,
    shuffle_frames,
)

TRAIN_PAIRS, TEST_PAIRS = 300, 150


def _frame_sequence(frames: npt.NDArray[np.uint8]) -> torch.Tensor:
    """Ordered per-frame grey thumbnails [N, T * 8 * 8]: a feature that keeps which frame came when."""
    grey = frames.astype(np.float32).mean(axis=-1)  # (N, T, H, W)
    n, t, h, w = grey.shape
    thumbs = grey.reshape(n, t, 8, h // 8, 8, w // 8).mean(axis=(3, 5))
    thumbs -= thumbs.mean(axis=1, keepdims=True)  # keep what changes over time, not the static scene
    return torch.from_numpy(thumbs.reshape(n, -1))


@pytest.fixture(scope="module")
def sets() -> tuple[object, object]:
    train = make_temporal_set("train", 2 * TRAIN_PAIRS, seed=0, config=TINY)
    test = make_temporal_set("heldout", 2 * TEST_PAIRS, seed=1, config=TINY)
    return train, test


def test_pairs_share_frames_and_flip_the_label(sets: tuple) -> None:
    train, _ = sets
    assert len(train) == 2 * TRAIN_PAIRS
    np.testing.assert_array_equal(train.frames[1], train.frames[0][::-1])
    assert (train.label[0::2] + train.label[1::2] == 1).all()
    assert train.label.mean() == CHANCE  # balanced by construction


def test_frame_order_is_what_carries_the_label(sets: tuple) -> None:
    train, test = sets
    y_train, y_test = torch.from_numpy(train.label), torch.from_numpy(test.label)
    tolerance = chance_tolerance(TEST_PAIRS)
    ordered = knn_accuracy(_frame_sequence(train.frames), y_train, _frame_sequence(test.frames), y_test, 5)
    shuffled = knn_accuracy(
        _frame_sequence(shuffle_frames(train.frames, seed=1)),
        y_train,
        _frame_sequence(shuffle_frames(test.frames, seed=2)),
        y_test,
        5,
    )
    print(f"ordered {ordered:.3f}, frame-shuffled {shuffled:.3f}, chance {CHANCE} +- {tolerance:.3f}")
    assert ordered > CHANCE + tolerance  # positive control: the task is learnable from order
    assert abs(shuffled - CHANCE) <= tolerance


def test_colour_only_is_exactly_chance(sets: tuple) -> None:
    train, test = sets
    accuracy = knn_accuracy(
        torch.from_numpy(colour_histograms(train.frames)),
        torch.from_numpy(train.label),
        torch.from_numpy(colour_histograms(test.frames)),
        torch.from_numpy(test.label),
        5,
    )
    assert accuracy == CHANCE  # both copies of a pair get the same vote, so exactly one is right


def test_shuffle_keeps_each_clips_frames() -> None:
    clips = np.arange(2 * 5 * 3, dtype=np.uint8).reshape(2, 5, 3)
    shuffled = shuffle_frames(clips, seed=0)
    for clip, other in zip(clips, shuffled, strict=True):
        assert sorted(map(tuple, clip)) == sorted(map(tuple, other))
    assert not np.array_equal(shuffled, clips)
