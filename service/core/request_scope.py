"""The core-call metric around one unit of core work (a video, a text request, a segment stream)."""

from __future__ import annotations

import asyncio
import logging
import time
from types import TracebackType

from service.core.metrics import CoreMetrics
from service.errors import InternalError, ServiceError

log = logging.getLogger(__name__)


class RequestScope:
    """One unit of core work: its outcome code recorded in the core-call metric, and an unexpected
    exception turned into `internal`. A plain class rather than an asynccontextmanager: the
    generator machinery was a visible share of a small model's request cost."""

    __slots__ = ("_api", "_method", "_metrics", "_started", "code")

    def __init__(self, metrics: CoreMetrics, api: str, method: str) -> None:
        self._metrics, self._api, self._method = metrics, api, method
        self.code = "ok"
        self._started = 0.0

    def __enter__(self) -> RequestScope:
        self._started = time.perf_counter()
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
            self._metrics.request_finished(
                self._api, self._method, self.code, time.perf_counter() - self._started
            )
