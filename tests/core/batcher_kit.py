"""What the batcher tests share besides their fixtures (tests/core/conftest.py): a batcher over the
recording video engine, the register that starts batchers for the `started` fixture, and a deadline."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from service.core.batcher import DynamicBatcher
from service.core.metrics import NullMetrics
from service.core.settings import BatcherSettings
from service.core.types import Deadline
from tests.core.instrumented_engines import RecordingVideoEngine

T = TypeVar("T")


class Started:
    """Starts each batcher it is given and remembers it, so the `started` fixture closes them all."""

    def __init__(self) -> None:
        self.batchers: list[DynamicBatcher[Any]] = []

    def __call__(self, batcher: DynamicBatcher[T]) -> DynamicBatcher[T]:
        self.batchers.append(batcher)
        batcher.start()
        return batcher


def make_batcher(
    engine: RecordingVideoEngine, executor: ThreadPoolExecutor, **settings: Any
) -> DynamicBatcher[np.ndarray]:
    return DynamicBatcher(engine, BatcherSettings(**settings), NullMetrics(), executor)


def deadline(seconds: float = 10.0) -> Deadline:
    return Deadline.after(seconds)
