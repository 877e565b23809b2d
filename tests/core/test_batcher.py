"""The batcher's flush policy: full batches at once, partial ones after the delay or when the engine is
idle, workers sharing the queue, the cost cap."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from service.core.batcher import DynamicBatcher
from service.core.metrics import NullMetrics
from service.core.settings import BatcherSettings
from tests.core.batcher_kit import Started, deadline, make_batcher
from tests.core.instrumented_engines import RecordingTextEngine, RecordingVideoEngine
from videoprism_bundle.loader import Bundle


async def test_full_batch_flushes_without_waiting_for_the_delay(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = started(make_batcher(video_engine, executor, max_batch_size=4, max_queue_delay_ms=10_000))
    t0 = time.monotonic()
    results = await asyncio.gather(*(batcher.submit(video_engine.clip(i), deadline()) for i in range(4)))
    assert time.monotonic() - t0 < 2.0
    assert video_engine.batches == [[0, 1, 2, 3]]
    expected = video_engine.backend.run(video_engine.preprocess([video_engine.clip(i) for i in range(4)]))
    np.testing.assert_allclose(np.stack(results), expected, rtol=1e-5, atol=1e-6)


async def test_partial_batch_flushes_after_the_queue_delay(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = started(
        make_batcher(video_engine, executor, max_batch_size=8, max_queue_delay_ms=150, flush_when_idle=False)
    )
    t0 = time.monotonic()
    await asyncio.gather(*(batcher.submit(video_engine.clip(i), deadline()) for i in range(3)))
    elapsed = time.monotonic() - t0
    assert video_engine.batches == [[0, 1, 2]]
    assert 0.14 <= elapsed < 3.0


async def test_idle_engine_runs_a_lone_request_without_waiting_for_the_delay(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = started(make_batcher(video_engine, executor, max_batch_size=8, max_queue_delay_ms=10_000))
    t0 = time.monotonic()
    await batcher.submit(video_engine.clip(0), deadline())
    assert time.monotonic() - t0 < 5.0  # far below the 10 s delay a non-adaptive batcher would wait
    assert video_engine.batches == [[0]]


@pytest.mark.parametrize(
    ("max_batch_size", "in_flight", "arrivals", "queued", "batches"),
    [
        # Arrivals while the engine is busy form the next batch.
        (8, 2, 3, 3, [[0], [1, 2, 3]]),
        # Pipelining: a full batch (1, 2) leaves the queue for the worker thread at once; (3, 4) and the
        # partial (5) wait in the queue.
        (2, 2, 5, 3, [[0], [1, 2], [3, 4], [5]]),
        # Without pipelining nothing leaves the queue while a batch runs.
        (2, 1, 3, 3, [[0], [1, 2], [3]]),
    ],
)
async def test_arrivals_while_the_engine_is_busy_form_the_next_batches(
    video_engine: RecordingVideoEngine,
    executor: ThreadPoolExecutor,
    started: Started,
    max_batch_size: int,
    in_flight: int,
    arrivals: int,
    queued: int,
    batches: list[list[int]],
) -> None:
    batcher = started(
        make_batcher(
            video_engine,
            executor,
            max_batch_size=max_batch_size,
            max_queue_delay_ms=10_000,
            max_batches_in_flight=in_flight,
        )
    )
    video_engine.gate.clear()
    first = asyncio.ensure_future(batcher.submit(video_engine.clip(0), deadline()))
    await asyncio.to_thread(video_engine.started.wait, 5)
    later = [
        asyncio.ensure_future(batcher.submit(video_engine.clip(i), deadline()))
        for i in range(1, arrivals + 1)
    ]
    await asyncio.sleep(0.01)
    assert batcher.queue_depth == queued
    video_engine.gate.set()
    await asyncio.gather(first, *later)
    assert video_engine.batches == batches


def _workers_batcher(
    engine: RecordingVideoEngine, started: Started, workers: int, *, max_batch_size: int
) -> tuple[DynamicBatcher[np.ndarray], ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(workers)
    settings = BatcherSettings(
        max_batch_size=max_batch_size, workers=workers, max_batches_in_flight=workers + 1
    )
    batcher = started(DynamicBatcher(engine, settings, NullMetrics(), pool))
    return batcher, pool


@pytest.mark.parametrize("workers", [1, 2])
async def test_workers_run_that_many_batches_at_once(
    video_engine: RecordingVideoEngine, started: Started, workers: int
) -> None:
    batcher, pool = _workers_batcher(video_engine, started, workers, max_batch_size=2)
    video_engine.gate.clear()
    try:
        # Partial batches: with a second worker idle, the second one starts without waiting for the first.
        first = asyncio.ensure_future(batcher.submit(video_engine.clip(0), deadline()))
        await asyncio.to_thread(video_engine.started.wait, 5)
        second = asyncio.ensure_future(batcher.submit(video_engine.clip(1), deadline()))
        waited = 0.0
        while video_engine.running < workers and waited < 5:
            await asyncio.sleep(0.01)
            waited += 0.01
        await asyncio.sleep(0.05)
        assert video_engine.running == workers
        assert batcher.queue_depth == 2 - workers
        video_engine.gate.set()
        await asyncio.gather(first, second)
        assert video_engine.most_running == workers
    finally:
        video_engine.gate.set()
        pool.shutdown(wait=True)


@pytest.mark.parametrize(("workers", "batches"), [(1, [[0, 1, 2, 3]]), (2, [[0, 1], [2, 3]])])
async def test_idle_workers_share_what_is_queued(
    video_engine: RecordingVideoEngine, started: Started, workers: int, batches: list[list[int]]
) -> None:
    batcher, pool = _workers_batcher(video_engine, started, workers, max_batch_size=8)
    try:
        await asyncio.gather(*(batcher.submit(video_engine.clip(i), deadline()) for i in range(4)))
        assert sorted(video_engine.batches) == batches
    finally:
        pool.shutdown(wait=True)


async def test_cost_cap_limits_tokens_per_batch(
    tiny_bundle: Bundle, executor: ThreadPoolExecutor, started: Started
) -> None:
    engine = RecordingTextEngine(tiny_bundle)
    batcher = started(
        DynamicBatcher(
            engine,
            BatcherSettings(max_batch_size=8, max_queue_delay_ms=50, max_batch_cost=20),
            NullMetrics(),
            executor,
        )
    )
    await asyncio.gather(*(batcher.submit(engine.row(8), deadline()) for _ in range(5)))
    assert sum(len(b) for b in engine.batches) == 5
    assert all(sum(costs) <= 20 for costs in engine.batches)
    assert max(len(b) for b in engine.batches) == 2
    assert batcher.batch_sizes(1) == list(range(1, 9)) and batcher.batch_sizes(8) == [1, 2]
