"""Alternating-source batching: proportions follow the weights, each batch is one source, workers keep order."""

from __future__ import annotations

from collections import Counter
from itertools import islice

import pytest
import torch

from training.data.loader import LoaderConfig, make_batch_loader
from training.data.mixing import AlternatingBatches, WeightedSource, source_schedule
from training.data.synthetic import SyntheticConfig, SyntheticVideoText

SMALL = SyntheticConfig(num_frames=4, height=32, width=32)


@pytest.mark.parametrize("weights", [[1.0, 1.0], [3.0, 1.0], [0.5, 0.3, 0.2], [10.0, 1.0, 1.0, 5.0]])
def test_schedule_proportions_follow_weights_at_every_prefix(weights: list[float]) -> None:
    total = sum(weights)
    counts = [0] * len(weights)
    for n, chosen in enumerate(islice(source_schedule(weights), 1000), start=1):
        counts[chosen] += 1
        for i, weight in enumerate(weights):
            assert abs(counts[i] - n * weight / total) <= len(weights), (n, counts)


def test_schedule_interleaves_rather_than_running_in_blocks() -> None:
    order = list(islice(source_schedule([1.0, 1.0]), 10))
    assert order in ([0, 1] * 5, [1, 0] * 5)


def test_schedule_rejects_nonpositive_weights() -> None:
    with pytest.raises(ValueError, match="positive"):
        next(source_schedule([1.0, 0.0]))


def _sources() -> list[WeightedSource]:
    clean = SyntheticVideoText(SMALL, seed=0, source="clean")
    noisy = SyntheticVideoText(SyntheticConfig(4, 32, 32, noisy_caption_rate=1.0), seed=1, source="noisy")
    return [WeightedSource("clean", 2.0, clean), WeightedSource("noisy", 1.0, noisy)]


def test_each_batch_comes_from_one_source_in_schedule_order() -> None:
    batches = list(AlternatingBatches(_sources(), batch_size=4, num_batches=9))
    assert [b.source for b in batches] == ["clean", "noisy", "clean"] * 3
    for batch in batches:
        assert batch.frames.shape == (4, 4, 32, 32, 3)
        assert batch.frames.dtype == torch.uint8
        assert len(batch.captions) == 4
    video = batches[0].video()
    assert video.dtype == torch.float32 and float(video.min()) >= 0.0 and float(video.max()) <= 1.0


def test_worker_processes_deliver_the_same_sources_in_the_same_order() -> None:
    config = LoaderConfig(batch_size=4, num_workers=2, prefetch_batches=2, num_batches=12)
    in_process = list(AlternatingBatches(_sources(), batch_size=4, num_batches=12))
    with_workers = list(make_batch_loader(_sources(), config))
    assert [b.source for b in with_workers] == [b.source for b in in_process]
    assert Counter(b.source for b in with_workers) == {"clean": 8, "noisy": 4}
    # Workers read disjoint shards of each source: no clip is delivered twice.
    seen = [bytes(clip.numpy().tobytes()) for b in with_workers for clip in b.frames]
    assert len(set(seen)) == len(seen)


def test_duplicate_source_names_are_rejected() -> None:
    source = _sources()[0]
    with pytest.raises(ValueError, match="unique"):
        AlternatingBatches([source, source], batch_size=2)
