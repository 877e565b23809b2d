"""One queued item of a `DynamicBatcher`: what the loop and the worker thread need to know about it, and
its trace spans."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Generic

from service.core.engines import ItemT
from service.core.types import Deadline, Vector
from service.errors import ServiceError
from service.tracing import record_span


@dataclass(eq=False)
class Pending(Generic[ItemT]):
    item: ItemT
    cost: int
    deadline: Deadline
    enqueued_at: float
    future: asyncio.Future[Vector] = field(repr=False)
    # deque.remove on a missing item formats the item's repr (numpy arrays!) into the ValueError, so
    # membership is tracked here instead of discovered by trying.
    queued: bool = True
    # False once the caller stopped waiting (answered, expired or gone). Read by the worker thread to skip
    # an item of a batch that waited behind another; a stale read only means the item is computed anyway.
    wanted: bool = True
    # For the trace: (monotonic time the batch was answered, seconds the engine ran, items in the batch).
    ran: tuple[float, float, int] | None = None


def trace_item(pending: Pending[ItemT], kind: str) -> None:
    """`queue_wait` and `inference` spans of one item, in its caller's trace: the batch ran on a worker
    thread for several requests, so its interval is recorded after the fact."""
    labels = {"batcher.kind": kind}
    if pending.ran is None:  # expired, refused or cancelled before its batch ran
        record_span("queue_wait", pending.enqueued_at, time.monotonic(), **labels)
        return
    answered, seconds, size = pending.ran
    record_span("queue_wait", pending.enqueued_at, answered - seconds, **labels)
    record_span("inference", answered - seconds, answered, **labels, **{"batch.size": size})


def fail_item(pending: Pending[ItemT], error: ServiceError) -> None:
    """Answers the caller with `error`, unless it was answered (or went away) already."""
    if not pending.future.done():
        pending.future.set_exception(error)
