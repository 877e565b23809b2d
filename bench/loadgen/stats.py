"""Latency statistics: exact percentiles of a sample and a log-bucketed histogram for plots.

Percentiles use linear interpolation between closest ranks (numpy's default), so figures from this module
and from `numpy.percentile` agree and a reader can recompute them from the raw JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for an empty sample."""
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} is outside 0..100")
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    count: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


def summarize(latencies_s: Sequence[float]) -> Summary:
    ms = sorted(x * 1000.0 for x in latencies_s)
    if not ms:
        nan = math.nan
        return Summary(0, nan, nan, nan, nan, nan)
    return Summary(
        count=len(ms),
        mean_ms=sum(ms) / len(ms),
        p50_ms=percentile(ms, 50),
        p95_ms=percentile(ms, 95),
        p99_ms=percentile(ms, 99),
        max_ms=ms[-1],
    )


class LogHistogram:
    """Counts per bucket whose edges grow by a fixed ratio, so every bucket has the same relative width:
    a latency is known to within `ratio - 1` however long the run (memory does not grow with samples)."""

    def __init__(self, lowest_s: float = 1e-5, highest_s: float = 120.0, ratio: float = 1.05) -> None:
        if not (0 < lowest_s < highest_s and ratio > 1):
            raise ValueError("need 0 < lowest < highest and ratio > 1")
        self.lowest_s = lowest_s
        self.ratio = ratio
        self.buckets = math.ceil(math.log(highest_s / lowest_s) / math.log(ratio)) + 1
        self.counts = [0] * (self.buckets + 1)  # last slot: above `highest_s`
        self.total = 0

    def index(self, value_s: float) -> int:
        if value_s <= self.lowest_s:
            return 0
        return min(self.buckets, 1 + int(math.log(value_s / self.lowest_s) / math.log(self.ratio)))

    def upper_edge(self, index: int) -> float:
        return self.lowest_s * self.ratio**index

    def add(self, value_s: float) -> None:
        self.counts[self.index(value_s)] += 1
        self.total += 1

    def quantile(self, q: float) -> float:
        """Upper edge of the bucket holding the q-th percentile: an upper bound within `ratio` of it."""
        if self.total == 0:
            return math.nan
        target = max(1, math.ceil(self.total * q / 100.0))
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= target:
                return self.upper_edge(index)
        return math.inf
