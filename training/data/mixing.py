"""Alternating-source batches: each batch comes from one source, and sources take turns by weight.

VideoPrism trains with alternating gradient descent over its corpora (one dataset per mini-batch, which
gives harder in-batch negatives). The turn order is a pure function of the weights, computed identically in
every worker process: worker k builds batches k, k + W, k + 2W, ... and the DataLoader, which collects from
workers in round-robin order, hands the trainer exactly the schedule's order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Protocol

from torch.utils.data import IterableDataset, get_worker_info

from training.data.examples import TokenizerSpec, VideoTextBatch, VideoTextExample, collate_examples


class ExampleStream(Protocol):
    """Anything that can stream its examples in `num_shards` disjoint shards, without end."""

    def examples(self, shard: int, num_shards: int) -> Iterator[VideoTextExample]: ...


@dataclass(frozen=True)
class WeightedSource:
    name: str
    weight: float  # relative share of batches
    stream: ExampleStream


def source_schedule(weights: Sequence[float]) -> Iterator[int]:
    """Endless source indices in proportion to `weights`, interleaved as evenly as possible.

    Smooth weighted round-robin: every turn each source gains its weight in credit, the richest source is
    picked and pays the total weight. After n turns source i has been picked n * w_i / sum(w) times, give or
    take one.
    """
    if not weights or any(w <= 0 for w in weights):
        raise ValueError(f"weights must be positive, got {list(weights)}")
    total = float(sum(weights))
    credit = [0.0] * len(weights)
    while True:
        for i, weight in enumerate(weights):
            credit[i] += weight
        chosen = max(range(len(weights)), key=credit.__getitem__)
        credit[chosen] -= total
        yield chosen


class AlternatingBatches(IterableDataset[VideoTextBatch]):
    """Batches of `batch_size` examples, each batch from one source, sources alternating by weight.

    Use with `DataLoader(..., batch_size=None)`; `num_batches` bounds one pass (None: endless).
    """

    def __init__(
        self,
        sources: Sequence[WeightedSource],
        batch_size: int,
        *,
        num_batches: int | None = None,
        tokenizer: TokenizerSpec | None = None,
    ) -> None:
        names = [source.name for source in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.sources = tuple(sources)
        self.batch_size = batch_size
        self.num_batches = num_batches
        self.tokenizer = tokenizer

    def __iter__(self) -> Iterator[VideoTextBatch]:
        info = get_worker_info()
        worker, num_workers = (0, 1) if info is None else (info.id, info.num_workers)
        tokenizer = None if self.tokenizer is None else self.tokenizer.build()  # one per worker process
        streams = [source.stream.examples(worker, num_workers) for source in self.sources]
        schedule = islice(source_schedule([source.weight for source in self.sources]), self.num_batches)
        for step, chosen in enumerate(schedule):
            if step % num_workers != worker:
                continue
            examples = list(islice(streams[chosen], self.batch_size))
            if len(examples) < self.batch_size:
                raise RuntimeError(
                    f"source {self.sources[chosen].name!r} ran dry; its stream must be endless"
                )
            yield collate_examples(examples, tokenizer, source=self.sources[chosen].name)
