"""Admission of front-door requests: refused while draining or beyond `max_in_flight` (or when every
model's batcher of the request's kind is overloaded), counted from admission to the last byte of the
answer, and cut off with `draining` when the drain deadline passes. The one request count of the process.

A request is "in flight" from the moment it is admitted (before its body is parsed or its upload
received), not only while a core is computing, which is why this sits above the cores.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from service.core.batcher import OVERLOADED_RETRY_AFTER_S
from service.errors import DrainingError, OverloadedError

# The batcher each embedding endpoint (HTTP path or gRPC method) feeds: when it is overloaded the request
# is refused at the door, before its body is read. StreamEmbed is not here: a stream has its own flow
# control and its items wait for room.
_KIND_OF_ENDPOINT = {
    "/v1/embed/text": "text",
    "/v1/embeddings": "text",
    "/v1/embed/video": "video",
    "/v1/embed/video/upload": "video",
    "/videoprism.v1.EmbeddingService/EmbedText": "text",
    "/videoprism.v1.EmbeddingService/EmbedVideo": "video",
    "/videoprism.v1.EmbeddingService/UploadVideo": "video",
}


class Admission:
    def __init__(self, max_in_flight: int, is_overloaded: Callable[[str], bool]) -> None:
        self._max_in_flight = max_in_flight
        self._is_overloaded = is_overloaded  # the batchers' decision, through the model registry
        self.refusing = False  # set when the drain begins
        self.count = 0
        self._limited = 0  # the part of `count` that `max_in_flight` caps
        self._idle = asyncio.Event()
        self._idle.set()
        self._admitted: set[asyncio.Task[Any]] = set()  # the tasks of admitted requests, for `cut_off`
        self._cut_off: set[asyncio.Task[Any]] = set()  # those `cut_off` cancelled at the deadline

    def check_capacity(self, endpoint: str | None = None) -> None:
        """Raises `overloaded` when `max_in_flight` embedding requests are already being handled, or when
        `endpoint` feeds a batcher ("text" / "video") that is overloaded. Both doors call this before
        reading the request, so a refusal costs neither parsing nor memory. The queue check
        matters under sustained overload: a refusal found only after parsing, validating and tokenizing
        costs about half an admitted request, and at twice the capacity those refusals crowded out the
        admitted work (admitted throughput fell to an eighth of capacity with p99 near 9 s)."""
        if self._limited >= self._max_in_flight:
            raise OverloadedError(
                f"{self._max_in_flight} requests in flight", retry_after_s=OVERLOADED_RETRY_AFTER_S
            )
        kind = _KIND_OF_ENDPOINT.get(endpoint or "")
        if kind is not None and self._is_overloaded(kind):
            raise OverloadedError(f"{kind} queue is full", retry_after_s=OVERLOADED_RETRY_AFTER_S)

    @contextlib.asynccontextmanager
    async def admit(self, *, limited: bool = True, endpoint: str | None = None) -> AsyncIterator[None]:
        """Wraps one front-door request: refused while draining (and, when `limited`, beyond
        `max_in_flight`), counted until it completes. Metadata routes pass `limited=False`: they cost
        nothing and operators need them most when the server is overloaded."""
        if self.refusing:
            raise DrainingError("server is shutting down")
        if limited:
            self.check_capacity(endpoint)
            self._limited += 1
        self.count += 1
        self._idle.clear()
        task = asyncio.current_task()
        if task is not None:
            self._admitted.add(task)
        try:
            yield
        except asyncio.CancelledError:
            # Cancelled by `cut_off` past the deadline: answer `draining` (never a 500 or a reset) and let
            # the task go on to write that answer.
            if task is None or task not in self._cut_off:
                raise
            task.uncancel()
            raise DrainingError("server is shutting down: the request did not finish in time") from None
        finally:
            if task is not None:
                self._admitted.discard(task)
                self._cut_off.discard(task)
            self.count -= 1
            if limited:
                self._limited -= 1
            if self.count == 0:
                self._idle.set()

    async def wait_idle(self, timeout_s: float) -> bool:
        """True when every admitted request finished within `timeout_s`."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def cut_off(self) -> None:
        """Cancels every admitted request so each answers `draining`."""
        for task in list(self._admitted):
            self._cut_off.add(task)
            task.cancel()
