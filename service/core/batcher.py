"""Dynamic batching for one input kind; batches run on `workers` threads (default one) over one session.

Adaptive flush (`flush_when_idle`, the default): when the engine is idle, whatever is queued runs at once
(after one pass of the event loop so callers that are already runnable can join); while a batch runs,
arrivals accumulate and form the next batch. A lone request therefore never waits for a timer and batches
grow with the load by themselves. Without it, a partial batch waits until its oldest item is
`max_queue_delay_ms` old.

Pipelining (`max_batches_in_flight`, default 2): a *full* batch may be handed to the workers while every
one of them is busy, so a worker goes straight from one batch to the next instead of idling until the
event loop (busy answering the previous batch's callers) gets round to cutting a new one. Partial batches
wait for an idle worker, so pipelining never splits the load into smaller batches; with several idle
workers, what is queued is shared between them.

Guarantees: the queue is bounded (`overloaded` at once beyond it); an item whose deadline passes or whose
caller goes away is removed and never reaches the engine; an exception in a batch reaches every caller
of that batch and the loop keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from concurrent.futures import Executor
from typing import Generic

from service.core.batch_item import Pending, fail_item, trace_item
from service.core.engines import Engine, ItemT
from service.core.metrics import CoreMetrics
from service.core.settings import BatcherSettings
from service.core.types import Deadline, Vector
from service.errors import DeadlineExceededError, DrainingError, InternalError, OverloadedError, ServiceError
from service.tracing import recording

log = logging.getLogger(__name__)

# Refused work is told to come back after this long; a queue that is full now drains within seconds.
OVERLOADED_RETRY_AFTER_S = 1.0


class DynamicBatcher(Generic[ItemT]):
    def __init__(
        self, engine: Engine[ItemT], settings: BatcherSettings, metrics: CoreMetrics, executor: Executor
    ) -> None:
        if settings.workers < 1 or settings.max_batches_in_flight < settings.workers:
            raise ValueError("resolve auto workers first (service/core/parallelism.py)")
        self.engine = engine
        self.settings = settings
        self._metrics = metrics
        self._executor = executor
        self._queue: deque[Pending[ItemT]] = deque()
        self._queued_cost = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        # Batches handed to the worker thread and not yet answered, by their executor future.
        self._in_flight: dict[asyncio.Future[tuple[list[Vector | None], float]], list[Pending[ItemT]]] = {}

    @property
    def kind(self) -> str:
        return self.engine.kind

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    def is_overloaded(self, items: int = 1) -> bool:
        """Whether the queue has no room for `items` more: the one overload decision. The doors ask it
        (through the core and the model registry) before reading a request, the pipelines before
        submitting a request's items, `submit` before queueing one."""
        return len(self._queue) + items > self.settings.max_queue_size

    def refuse_if_overloaded(self, items: int = 1) -> None:
        """`overloaded` (429 / RESOURCE_EXHAUSTED, retry after a second) when `is_overloaded(items)`."""
        if self.is_overloaded(items):
            more = "" if items == 1 else f": no room for {items} items"
            raise OverloadedError(
                f"{self.kind} queue is full ({self.settings.max_queue_size}){more}",
                retry_after_s=OVERLOADED_RETRY_AFTER_S,
            )

    @property
    def busy(self) -> bool:
        """Work queued or running: a draining core lets it finish before closing."""
        return bool(self._queue or self._in_flight)

    def batch_sizes(self, min_item_cost: int) -> list[int]:
        """Every batch size this batcher can produce given its cost cap: the shapes to warm up."""
        largest = self.settings.max_batch_size
        if self.settings.max_batch_cost is not None:
            largest = min(largest, max(1, self.settings.max_batch_cost // max(1, min_item_cost)))
        return list(range(1, largest + 1))

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"batcher-{self.kind}")

    async def close(self) -> None:
        """Fails whatever is still queued with `draining` and stops the loop (an in-flight batch finishes
        on its thread, its results are discarded)."""
        self._closed = True
        while self._queue:
            pending = self._queue.popleft()
            pending.queued = False
            fail_item(pending, DrainingError("server is shutting down"))
        self._queued_cost = 0
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for batch in self._in_flight.values():
            for pending in batch:
                fail_item(pending, DrainingError("server is shutting down"))
        self._in_flight.clear()
        self._metrics.queue_depth(self.kind, 0)

    async def submit(self, item: ItemT, deadline: Deadline) -> Vector:
        if self._closed:
            raise DrainingError("server is shutting down")
        self.engine.validate(item)
        self.refuse_if_overloaded()
        remaining = deadline.remaining()
        if remaining <= 0:
            raise DeadlineExceededError("deadline passed before the request was queued")
        loop = asyncio.get_running_loop()
        pending = Pending(item, self.engine.cost(item), deadline, time.monotonic(), loop.create_future())
        self._queue.append(pending)
        self._queued_cost += pending.cost
        self._metrics.queue_depth(self.kind, len(self._queue))
        self._wake.set()
        # A plain timer instead of asyncio.wait_for: wait_for wraps every request in extra futures and
        # callbacks, which is most of the per-request cost with a small model. Expiry or cancellation
        # completes the future, which is how the loop knows to skip the item.
        timer = loop.call_later(remaining, self._expire, pending)
        try:
            return await pending.future
        finally:
            pending.wanted = False
            timer.cancel()
            self._discard(pending)
            if recording():
                trace_item(pending, self.kind)

    def _expire(self, pending: Pending[ItemT]) -> None:
        fail_item(
            pending,
            DeadlineExceededError(f"deadline passed while the {self.kind} request was queued or running"),
        )

    def _discard(self, pending: Pending[ItemT]) -> None:
        if not pending.queued:
            return  # already taken into a batch or failed by the loop
        self._queue.remove(pending)
        pending.queued = False
        self._queued_cost -= pending.cost
        self._metrics.queue_depth(self.kind, len(self._queue))

    def _full(self) -> bool:
        cap = self.settings.max_batch_cost
        return len(self._queue) >= self.settings.max_batch_size or (
            cap is not None and self._queued_cost >= cap
        )

    async def _wait_for_batch(self) -> None:
        """Returns when a batch should be cut: a full one while fewer than `max_batches_in_flight` run,
        or, with the engine idle, whatever the flush policy allows."""
        delay = self.settings.max_queue_delay_ms / 1000.0
        while True:
            while not self._queue or len(self._in_flight) >= self.settings.max_batches_in_flight:
                self._wake.clear()
                await self._wake.wait()
            if self._full():
                return
            if len(self._in_flight) >= self.settings.workers:
                # Every worker busy: a partial batch waits for one (a finished batch sets the wake event).
                self._wake.clear()
                await self._wake.wait()
                continue
            if self.settings.flush_when_idle:
                # One pass of the loop lets callers whose previous request just finished (their wake-ups
                # are already scheduled) enqueue before the batch is cut; it costs no timer.
                await asyncio.sleep(0)
                return
            timeout = self._queue[0].enqueued_at + delay - time.monotonic()
            if timeout <= 0:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _pop_head(self) -> Pending[ItemT]:
        head = self._queue.popleft()
        head.queued = False
        self._queued_cost -= head.cost
        return head

    def _take_batch(self) -> list[Pending[ItemT]]:
        batch: list[Pending[ItemT]] = []
        cost = 0
        cap = self.settings.max_batch_cost
        limit = self.settings.max_batch_size
        idle = self.settings.workers - len(self._in_flight)
        if idle > 1:
            # Several idle workers share what is queued instead of one taking it all and the rest idling.
            limit = min(limit, -(-len(self._queue) // idle))
        while self._queue and len(batch) < limit:
            head = self._queue[0]
            if head.future.done():
                self._pop_head()
                continue
            if head.deadline.expired():
                self._pop_head()
                fail_item(
                    head, DeadlineExceededError(f"deadline passed while the {self.kind} request was queued")
                )
                continue
            if batch and cap is not None and cost + head.cost > cap:
                break
            batch.append(self._pop_head())
            cost += head.cost
        self._metrics.queue_depth(self.kind, len(self._queue))
        return batch

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wait_for_batch()
            batch = self._take_batch()
            if not batch:
                continue
            now = time.monotonic()
            for pending in batch:
                self._metrics.queue_wait(self.kind, now - pending.enqueued_at)
            future = loop.run_in_executor(self._executor, self._run, batch)
            self._in_flight[future] = batch
            future.add_done_callback(self._answer)

    def _run(self, batch: list[Pending[ItemT]]) -> tuple[list[Vector | None], float]:
        """On the worker thread. A batch that waited behind another may hold items whose caller has gone
        or whose deadline passed meanwhile: they are left out, so they never cost compute. Timed here so
        the figure is the engine's, not the executor queue's."""
        started = time.perf_counter()
        live = [i for i, p in enumerate(batch) if p.wanted and not p.deadline.expired()]
        outputs: list[Vector | None] = [None] * len(batch)
        if live:
            vectors = self.engine.run_batch([batch[i].item for i in live])
            if len(vectors) != len(live):
                raise InternalError(
                    f"{self.kind} engine returned {len(vectors)} outputs for {len(live)} items"
                )
            for i, vector in zip(live, vectors, strict=True):
                outputs[i] = vector
        return outputs, time.perf_counter() - started

    def _answer(self, future: asyncio.Future[tuple[list[Vector | None], float]]) -> None:
        batch = self._in_flight.pop(future, None)
        self._wake.set()
        if batch is None:
            return  # closed meanwhile: its callers were already failed with `draining`
        if future.cancelled():
            for pending in batch:
                fail_item(pending, DrainingError("server is shutting down"))
            return
        exc = future.exception()
        if exc is not None:
            log.error("%s batch of %d failed", self.kind, len(batch), exc_info=exc)
            error = (
                exc
                if isinstance(exc, ServiceError)
                else InternalError(f"{self.kind} inference failed: {type(exc).__name__}")
            )
            self._metrics.batch_ran(self.kind, len(batch), sum(p.cost for p in batch), 0.0)
            for pending in batch:
                fail_item(pending, error)
            return
        outputs, seconds = future.result()
        ran = [(p, o) for p, o in zip(batch, outputs, strict=True) if o is not None]
        if ran:
            self._metrics.batch_ran(self.kind, len(ran), sum(p.cost for p, _ in ran), seconds)
            timing = (time.monotonic(), seconds, len(ran))
            for pending, _ in ran:
                pending.ran = timing
        for pending, output in zip(batch, outputs, strict=True):
            if output is None:
                fail_item(
                    pending,
                    DeadlineExceededError(f"deadline passed while the {self.kind} request was queued"),
                )
            elif not pending.future.done():
                pending.future.set_result(output)
