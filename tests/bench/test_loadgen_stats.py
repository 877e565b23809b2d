"""The percentile and histogram math of the load generator, checked against numpy and by construction."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.loadgen.runner import RunResult, Sample
from bench.loadgen.stats import LogHistogram, percentile, summarize


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 95, 99, 99.9, 100])
def test_percentile_matches_numpy_linear(q: float) -> None:
    rng = np.random.default_rng(7)
    data = rng.lognormal(size=1001).tolist()
    assert percentile(data, q) == pytest.approx(float(np.percentile(data, q)), rel=1e-12)


def test_percentile_edge_cases() -> None:
    assert math.isnan(percentile([], 50))
    assert percentile([3.0], 99) == 3.0
    assert percentile([1.0, 2.0], 50) == 1.5
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_in_milliseconds() -> None:
    s = summarize([0.001, 0.002, 0.003])
    assert (s.count, s.p50_ms, s.max_ms) == (3, pytest.approx(2.0), pytest.approx(3.0))


def test_histogram_quantile_is_a_tight_upper_bound() -> None:
    rng = np.random.default_rng(3)
    data = rng.lognormal(mean=-4, sigma=1, size=20_000)
    hist = LogHistogram(ratio=1.02)
    for x in data:
        hist.add(float(x))
    for q in (50, 95, 99):
        exact = float(np.percentile(data, q, method="inverted_cdf"))
        bound = hist.quantile(q)
        assert exact <= bound <= exact * 1.02 * (1 + 1e-9)


def test_histogram_clamps_out_of_range() -> None:
    hist = LogHistogram(lowest_s=1e-3, highest_s=1.0)
    hist.add(0.0)
    hist.add(50.0)
    assert hist.counts[0] == 1 and hist.counts[-1] == 1
    assert hist.quantile(100) == hist.upper_edge(hist.buckets)


def test_run_result_counts_only_2xx_as_throughput() -> None:
    samples = [Sample(0.0, 0.01, "200"), Sample(0.0, 0.5, "429"), Sample(0.1, 0.2, "error:ConnectError")]
    result = RunResult("open", duration_s=2.0, offered_rps=1.5, samples=samples)
    assert result.throughput_rps() == 0.5
    assert result.outcomes() == {"200": 1, "429": 1, "error:ConnectError": 1}
    assert result.summary().p99_ms == pytest.approx(10.0)
    assert [row["done"] for row in result.series(bucket_s=0.25)] == [2, 1]
