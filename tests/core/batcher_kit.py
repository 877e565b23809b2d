"""What the batcher tests share besides their fixtures (tests/core/conftest.py): a batcher over the
recording video engine and a deadline."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from service.core.batcher import DynamicBatcher
from service.core.metrics import NullMetrics
from service.core.settings import BatcherSettings
from service.core.types import Deadline
from tests.core.instrumented_engines import RecordingVideoEngine

Started = list[DynamicBatcher[Any]]


def make_batcher(
    engine: RecordingVideoEngine, executor: ThreadPoolExecutor, **settings: Any
) -> DynamicBatcher[np.ndarray]:
    return DynamicBatcher(engine, BatcherSettings(**settings), NullMetrics(), executor)


def deadline(seconds: float = 10.0) -> Deadline:
    return Deadline.after(seconds)
