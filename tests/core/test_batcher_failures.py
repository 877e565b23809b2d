"""The batcher's refusals and failures: the queue bound, deadlines, cancelled callers, a failing batch, a
malformed item, closing; none of them reaches the engine or stops the loop."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

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
from tests.core.batcher_kit import Started, deadline, make_batcher
from tests.core.instrumented_engines import RecordingVideoEngine


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
    batcher = started(make_batcher(video_engine, executor, max_batch_size=1))
    video_engine.gate.clear()
    with pytest.raises(DeadlineExceededError):
        await batcher.submit(video_engine.clip(0), deadline(0.1))
    video_engine.gate.set()
    assert (await batcher.submit(video_engine.clip(1), deadline())).shape == (video_engine.embedding_dim,)


async def test_overloaded_at_the_queue_bound(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    # One batch in flight, so the queue holds exactly what the engine has not taken (pipelining would
    # move one more item to the worker thread; the bound applies to the queue either way).
    batcher = started(
        make_batcher(
            video_engine,
            executor,
            max_batch_size=1,
            max_queue_delay_ms=0,
            max_queue_size=3,
            max_batches_in_flight=1,
        )
    )
    video_engine.gate.clear()
    running = asyncio.ensure_future(batcher.submit(video_engine.clip(0), deadline()))
    await asyncio.to_thread(video_engine.started.wait, 5)
    queued = [asyncio.ensure_future(batcher.submit(video_engine.clip(i), deadline())) for i in (1, 2, 3)]
    await asyncio.sleep(0.01)
    assert batcher.queue_depth == 3
    t0 = time.monotonic()
    with pytest.raises(OverloadedError):
        await batcher.submit(video_engine.clip(4), deadline())
    assert time.monotonic() - t0 < 0.1
    video_engine.gate.set()
    await asyncio.gather(running, *queued)
    assert [ids[0] for ids in video_engine.batches] == [0, 1, 2, 3]


async def test_overload_decision_counts_the_items_asked_for(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    # The one decision every refusal goes through: the door's (1 item), a video's segments (n), submit's.
    batcher = started(
        make_batcher(video_engine, executor, max_batch_size=1, max_queue_size=3, max_batches_in_flight=1)
    )
    assert not batcher.busy
    video_engine.gate.clear()
    running = asyncio.ensure_future(batcher.submit(video_engine.clip(0), deadline()))
    await asyncio.to_thread(video_engine.started.wait, 5)
    queued = asyncio.ensure_future(batcher.submit(video_engine.clip(1), deadline()))
    await asyncio.sleep(0.01)
    assert batcher.busy and batcher.queue_depth == 1
    assert not batcher.is_overloaded() and not batcher.is_overloaded(2) and batcher.is_overloaded(3)
    batcher.refuse_if_overloaded(2)
    with pytest.raises(OverloadedError) as refused:
        batcher.refuse_if_overloaded(3)
    assert refused.value.code == "overloaded" and refused.value.retry_after_s == 1.0
    video_engine.gate.set()
    await asyncio.gather(running, queued)
    assert not batcher.busy and not batcher.is_overloaded(3)


async def test_expired_request_never_reaches_the_engine(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = started(make_batcher(video_engine, executor, max_batch_size=1, max_queue_delay_ms=0))
    video_engine.gate.clear()
    running = asyncio.ensure_future(batcher.submit(video_engine.clip(0), deadline()))
    await asyncio.to_thread(video_engine.started.wait, 5)
    t0 = time.monotonic()
    with pytest.raises(DeadlineExceededError):
        await batcher.submit(video_engine.clip(7), deadline(0.1))
    assert time.monotonic() - t0 < 1.0
    survivor = asyncio.ensure_future(batcher.submit(video_engine.clip(8), deadline()))
    video_engine.gate.set()
    await asyncio.gather(running, survivor)
    assert video_engine.batches == [[0], [8]]


async def test_already_expired_deadline_is_refused_at_submit(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = started(make_batcher(video_engine, executor))
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
    batcher = started(
        make_batcher(video_engine, executor, max_batch_size=max_batch_size, max_queue_delay_ms=0)
    )
    video_engine.gate.clear()
    running = asyncio.ensure_future(batcher.submit(video_engine.clip(0), deadline()))
    await asyncio.to_thread(video_engine.started.wait, 5)
    abandoned = asyncio.ensure_future(batcher.submit(video_engine.clip(5), deadline()))
    await asyncio.sleep(0.01)
    assert batcher.queue_depth == queued
    abandoned.cancel()
    await asyncio.sleep(0.01)
    assert batcher.queue_depth == 0
    video_engine.gate.set()
    await running
    await batcher.submit(video_engine.clip(6), deadline())
    assert video_engine.batches == [[0], [6]]


async def test_batch_exception_reaches_every_caller_and_the_loop_survives(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = started(make_batcher(video_engine, executor, max_batch_size=3, max_queue_delay_ms=1000))
    video_engine.fail_when = lambda ids: 13 in ids
    outcomes = await asyncio.gather(
        *(batcher.submit(video_engine.clip(i), deadline()) for i in (11, 12, 13)), return_exceptions=True
    )
    assert all(isinstance(o, InternalError) for o in outcomes)
    after = await asyncio.gather(*(batcher.submit(video_engine.clip(i), deadline()) for i in (21, 22, 23)))
    assert all(v.shape == (video_engine.embedding_dim,) for v in after)


async def test_malformed_item_fails_alone(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor, started: Started
) -> None:
    batcher = started(make_batcher(video_engine, executor, max_batch_size=3, max_queue_delay_ms=100))
    bad = np.zeros((2, 2, 2, 3), dtype=np.uint8)
    outcomes = await asyncio.gather(
        batcher.submit(video_engine.clip(1), deadline()),
        batcher.submit(bad, deadline()),
        batcher.submit(video_engine.clip(2), deadline()),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], InvalidRequestError)
    assert isinstance(outcomes[0], np.ndarray) and isinstance(outcomes[2], np.ndarray)
    assert video_engine.batches == [[1, 2]]


async def test_close_fails_queued_work_with_draining(
    video_engine: RecordingVideoEngine, executor: ThreadPoolExecutor
) -> None:
    batcher = make_batcher(video_engine, executor, max_batch_size=1, max_queue_delay_ms=0)
    batcher.start()
    video_engine.gate.clear()
    running = asyncio.ensure_future(batcher.submit(video_engine.clip(0), deadline()))
    await asyncio.to_thread(video_engine.started.wait, 5)
    queued = asyncio.ensure_future(batcher.submit(video_engine.clip(1), deadline()))
    await asyncio.sleep(0.01)
    await batcher.close()
    video_engine.gate.set()
    with pytest.raises(DrainingError):
        await queued
    with pytest.raises(DrainingError):
        await running
    with pytest.raises(DrainingError):
        await batcher.submit(video_engine.clip(2), deadline())
