from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from service.core.batcher import DynamicBatcher
from service.core.metrics import NullMetrics
from service.core.settings import BatcherSettings
from service.core.types import Deadline
from service.errors import (
    DeadlineExceededError,
    DrainingError,
    InternalError,
    InvalidRequestError,
    OverloadedError,
)
from tests.core.instrumented_engines import RecordingTextEngine, RecordingVideoEngine
from videoprism_bundle.loader import Bundle


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(1)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


@pytest.fixture
def video_engine(tiny_bundle: Bundle) -> Iterator[RecordingVideoEngine]:
    engine = RecordingVideoEngine(tiny_bundle)
    yield engine
    engine.gate.set()  # never leave a worker thread blocked


def _batcher(
    engine: RecordingVideoEngine, executor: ThreadPoolExecutor, **settings: Any
) -> DynamicBatcher[np.ndarray]:
    return DynamicBatcher(engine, BatcherSettings(**settings), NullMetrics(), executor)


Started = list[DynamicBatcher[Any]]


@pytest.fixture
async def started() -> AsyncIterator[Started]:
    batchers: list[DynamicBatcher[np.ndarray]] = []
    yield batchers
    for batcher in batchers:
        await batcher.close()


def _deadline(seconds: float = 10.0) -> Deadline:
    return Deadline.after(seconds)


async def test_full_batch_flushes_without_waiting_for_the_delay(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = _batcher(video_engine, executor, max_batch_size=4, max_queue_delay_ms=10_000)
    started.append(batcher)
    batcher.start()
    t0 = time.monotonic()
    results = await asyncio.gather(*(batcher.submit(video_engine.clip(i), _deadline()) for i in range(4)))
    assert time.monotonic() - t0 < 2.0
    assert video_engine.batches == [[0, 1, 2, 3]]
    expected = video_engine.backend.run(video_engine.preprocess([video_engine.clip(i) for i in range(4)]))
    np.testing.assert_allclose(np.stack(results), expected, rtol=1e-5, atol=1e-6)


async def test_partial_batch_flushes_after_the_queue_delay(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = _batcher(
        video_engine, executor, max_batch_size=8, max_queue_delay_ms=150, flush_when_idle=False
    )
    started.append(batcher)
    batcher.start()
    t0 = time.monotonic()
    await asyncio.gather(*(batcher.submit(video_engine.clip(i), _deadline()) for i in range(3)))
    elapsed = time.monotonic() - t0
    assert video_engine.batches == [[0, 1, 2]]
    assert 0.14 <= elapsed < 3.0


async def test_idle_engine_runs_a_lone_request_without_waiting_for_the_delay(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = _batcher(video_engine, executor, max_batch_size=8, max_queue_delay_ms=10_000)
    started.append(batcher)
    batcher.start()
    t0 = time.monotonic()
    await batcher.submit(video_engine.clip(0), _deadline())
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
    batcher = _batcher(
        video_engine,
        executor,
        max_batch_size=max_batch_size,
        max_queue_delay_ms=10_000,
        max_batches_in_flight=in_flight,
    )
    started.append(batcher)
    batcher.start()
    video_engine.gate.clear()
    first = asyncio.ensure_future(batcher.submit(video_engine.clip(0), _deadline()))
    await asyncio.to_thread(video_engine.started.wait, 5)
    later = [
        asyncio.ensure_future(batcher.submit(video_engine.clip(i), _deadline()))
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
    batcher = DynamicBatcher(engine, settings, NullMetrics(), pool)
    started.append(batcher)
    batcher.start()
    return batcher, pool


@pytest.mark.parametrize("workers", [1, 2])
async def test_workers_run_that_many_batches_at_once(
    video_engine: RecordingVideoEngine, started: Started, workers: int
) -> None:
    batcher, pool = _workers_batcher(video_engine, started, workers, max_batch_size=2)
    video_engine.gate.clear()
    try:
        # Partial batches: with a second worker idle, the second one starts without waiting for the first.
        first = asyncio.ensure_future(batcher.submit(video_engine.clip(0), _deadline()))
        await asyncio.to_thread(video_engine.started.wait, 5)
        second = asyncio.ensure_future(batcher.submit(video_engine.clip(1), _deadline()))
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
        await asyncio.gather(*(batcher.submit(video_engine.clip(i), _deadline()) for i in range(4)))
        assert sorted(video_engine.batches) == batches
    finally:
        pool.shutdown(wait=True)


def test_workers_must_fit_in_the_batches_in_flight() -> None:
    with pytest.raises(ValueError, match="max_batches_in_flight"):
        BatcherSettings(workers=3, max_batches_in_flight=2)
    with pytest.raises(ValueError, match="workers"):
        BatcherSettings(workers=-1)


def test_batcher_refuses_unresolved_auto_workers(video_engine: RecordingVideoEngine) -> None:
    auto = BatcherSettings(workers=0, max_batches_in_flight=0)  # valid settings, resolved when a core starts
    with ThreadPoolExecutor(1) as pool, pytest.raises(ValueError, match="auto workers"):
        DynamicBatcher(video_engine, auto, NullMetrics(), pool)


async def test_deadline_passing_while_the_batch_runs_fails_the_caller(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = _batcher(video_engine, executor, max_batch_size=1)
    started.append(batcher)
    batcher.start()
    video_engine.gate.clear()
    with pytest.raises(DeadlineExceededError):
        await batcher.submit(video_engine.clip(0), _deadline(0.1))
    video_engine.gate.set()
    assert (await batcher.submit(video_engine.clip(1), _deadline())).shape == (video_engine.embedding_dim,)


async def test_cost_cap_limits_tokens_per_batch(
    tiny_bundle: Bundle, executor: ThreadPoolExecutor, started: Started
) -> None:
    engine = RecordingTextEngine(tiny_bundle)
    batcher = DynamicBatcher(
        engine,
        BatcherSettings(max_batch_size=8, max_queue_delay_ms=50, max_batch_cost=20),
        NullMetrics(),
        executor,
    )
    started.append(batcher)
    batcher.start()
    await asyncio.gather(*(batcher.submit(engine.row(8), _deadline()) for _ in range(5)))
    assert sum(len(b) for b in engine.batches) == 5
    assert all(sum(costs) <= 20 for costs in engine.batches)
    assert max(len(b) for b in engine.batches) == 2
    assert batcher.batch_sizes(1) == list(range(1, 9)) and batcher.batch_sizes(8) == [1, 2]


async def test_overloaded_at_the_queue_bound(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    # One batch in flight, so the queue holds exactly what the engine has not taken (pipelining would
    # move one more item to the worker thread; the bound applies to the queue either way).
    batcher = _batcher(
        video_engine,
        executor,
        max_batch_size=1,
        max_queue_delay_ms=0,
        max_queue_size=3,
        max_batches_in_flight=1,
    )
    started.append(batcher)
    batcher.start()
    video_engine.gate.clear()
    running = asyncio.ensure_future(batcher.submit(video_engine.clip(0), _deadline()))
    await asyncio.to_thread(video_engine.started.wait, 5)
    queued = [asyncio.ensure_future(batcher.submit(video_engine.clip(i), _deadline())) for i in (1, 2, 3)]
    await asyncio.sleep(0.01)
    assert batcher.queue_depth == 3
    t0 = time.monotonic()
    with pytest.raises(OverloadedError):
        await batcher.submit(video_engine.clip(4), _deadline())
    assert time.monotonic() - t0 < 0.1
    video_engine.gate.set()
    await asyncio.gather(running, *queued)
    assert [ids[0] for ids in video_engine.batches] == [0, 1, 2, 3]


async def test_expired_request_never_reaches_the_engine(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = _batcher(video_engine, executor, max_batch_size=1, max_queue_delay_ms=0)
    started.append(batcher)
    batcher.start()
    video_engine.gate.clear()
    running = asyncio.ensure_future(batcher.submit(video_engine.clip(0), _deadline()))
    await asyncio.to_thread(video_engine.started.wait, 5)
    t0 = time.monotonic()
    with pytest.raises(DeadlineExceededError):
        await batcher.submit(video_engine.clip(7), _deadline(0.1))
    assert time.monotonic() - t0 < 1.0
    survivor = asyncio.ensure_future(batcher.submit(video_engine.clip(8), _deadline()))
    video_engine.gate.set()
    await asyncio.gather(running, survivor)
    assert video_engine.batches == [[0], [8]]


async def test_already_expired_deadline_is_refused_at_submit(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = _batcher(video_engine, executor)
    started.append(batcher)
    batcher.start()
    with pytest.raises(DeadlineExceededError):
        await batcher.submit(video_engine.clip(1), Deadline(time.monotonic() - 1))
    assert video_engine.batches == []


@pytest.mark.parametrize(
    ("max_batch_size", "queued"),
    [
        # Size 1: the item forms a full batch that waits on the worker thread behind the running one
        # and is left out there once its caller has gone.
        (1, 0),
        # Size 2: a partial batch waits in the queue while the engine is busy and leaves it on cancel.
        (2, 1),
    ],
)
async def test_cancelled_caller_removes_its_work(
    video_engine: RecordingVideoEngine,
    executor: ThreadPoolExecutor,
    started: Started,
    max_batch_size: int,
    queued: int,
) -> None:
    batcher = _batcher(video_engine, executor, max_batch_size=max_batch_size, max_queue_delay_ms=0)
    started.append(batcher)
    batcher.start()
    video_engine.gate.clear()
    running = asyncio.ensure_future(batcher.submit(video_engine.clip(0), _deadline()))
    await asyncio.to_thread(video_engine.started.wait, 5)
    abandoned = asyncio.ensure_future(batcher.submit(video_engine.clip(5), _deadline()))
    await asyncio.sleep(0.01)
    assert batcher.queue_depth == queued
    abandoned.cancel()
    await asyncio.sleep(0.01)
    assert batcher.queue_depth == 0
    video_engine.gate.set()
    await running
    await batcher.submit(video_engine.clip(6), _deadline())
    assert video_engine.batches == [[0], [6]]


async def test_batch_exception_reaches_every_caller_and_the_loop_survives(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = _batcher(video_engine, executor, max_batch_size=3, max_queue_delay_ms=1000)
    started.append(batcher)
    batcher.start()
    video_engine.fail_when = lambda ids: 13 in ids
    outcomes = await asyncio.gather(
        *(batcher.submit(video_engine.clip(i), _deadline()) for i in (11, 12, 13)), return_exceptions=True
    )
    assert all(isinstance(o, InternalError) for o in outcomes)
    after = await asyncio.gather(*(batcher.submit(video_engine.clip(i), _deadline()) for i in (21, 22, 23)))
    assert all(v.shape == (video_engine.embedding_dim,) for v in after)


async def test_malformed_item_fails_alone(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = _batcher(video_engine, executor, max_batch_size=3, max_queue_delay_ms=100)
    started.append(batcher)
    batcher.start()
    bad = np.zeros((2, 2, 2, 3), dtype=np.uint8)
    outcomes = await asyncio.gather(
        batcher.submit(video_engine.clip(1), _deadline()),
        batcher.submit(bad, _deadline()),
        batcher.submit(video_engine.clip(2), _deadline()),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], InvalidRequestError)
    assert isinstance(outcomes[0], np.ndarray) and isinstance(outcomes[2], np.ndarray)
    assert video_engine.batches == [[1, 2]]


async def test_close_fails_queued_work_with_draining(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor
) -> None:
    batcher = _batcher(video_engine, executor, max_batch_size=1, max_queue_delay_ms=0)
    batcher.start()
    video_engine.gate.clear()
    running = asyncio.ensure_future(batcher.submit(video_engine.clip(0), _deadline()))
    await asyncio.to_thread(video_engine.started.wait, 5)
    queued = asyncio.ensure_future(batcher.submit(video_engine.clip(1), _deadline()))
    await asyncio.sleep(0.01)
    await batcher.close()
    video_engine.gate.set()
    with pytest.raises(DrainingError):
        await queued
    with pytest.raises(DrainingError):
        await running
    with pytest.raises(DrainingError):
        await batcher.submit(video_engine.clip(2), _deadline())
