"""In-flight accounting and the request metric around one public call of `InferenceCore`."""

from __future__ import annotations

import asyncio
import logging
import time
from types import TracebackType

from service.core.metrics import CoreMetrics
from service.errors import InternalError, ServiceError

log = logging.getLogger(__name__)


class InFlight:
    """Counts the core's running calls so `drain` can wait until none is left."""

    __slots__ = ("count", "idle")

    def __init__(self) -> None:
        self.count = 0
        self.idle = asyncio.Event()
        self.idle.set()

    def entered(self) -> None:
        self.count += 1
        self.idle.clear()

    def left(self) -> None:
        self.count -= 1
        if self.count == 0:
            self.idle.set()


class RequestScope:
    """One public call: counted in flight, its outcome code recorded in the request metric, and an
    unexpected exception turned into `internal`. A plain class rather than an asynccontextmanager: the
    generator machinery was a visible share of a small model's request cost."""

    __slots__ = ("_api", "_in_flight", "_method", "_metrics", "_started", "code")

    def __init__(self, in_flight: InFlight, metrics: CoreMetrics, api: str, method: str) -> None:
        self._in_flight, self._metrics, self._api, self._method = in_flight, metrics, api, method
        self.code = "ok"
        self._started = 0.0

    def __enter__(self) -> RequestScope:
        self._started = time.perf_counter()
        self._in_flight.entered()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if isinstance(exc, ServiceError):
                self.code = exc.code
            elif isinstance(exc, asyncio.CancelledError | GeneratorExit):  # a closed stream is a cancel
                self.code = "cancelled"
            elif exc is not None:
                self.code = "internal"
                log.error("%s failed", self._method, exc_info=exc)
                raise InternalError(f"{self._method} failed unexpectedly") from exc
        finally:
            self._in_flight.left()
            self._metrics.request_finished(
                self._api, self._method, self.code, time.perf_counter() - self._started
            )
