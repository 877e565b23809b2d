"""A big model on the CPU served by two sessions of the same graph: a wide one (every core as intra-op
threads) for a run that has the machine to itself, a narrow one (a core's share) for runs that overlap.

Why: on 2 cores with `base`, one clip alone is fastest on the wide session (one request at the bare
runtime's best latency), but under load two single-threaded runs side by side beat one two-thread run
(0.258 vs 0.246 clips/s bare, and 0.222 for two runs sharing the wide session; docs/performance.md).
Choosing per run from how many runs are under way gives both. The narrow session costs a second copy of
the prepacked weights (~0.45 GiB for `base` fp32).
"""

from __future__ import annotations

import threading
from collections import Counter

import numpy as np
import numpy.typing as npt

from service.core.backends import Feeds, SessionBackend


class LoadSplitBackend:
    """Runs on `wide` when no other run is under way, else on `narrow`. Both must hold the same graph."""

    thread_safe = True

    def __init__(self, wide: SessionBackend, narrow: SessionBackend) -> None:
        if not (wide.thread_safe and narrow.thread_safe):
            raise ValueError("both sessions must accept concurrent runs")
        self.runtime = wide.runtime
        self.provider = wide.provider
        self._wide = wide
        self._narrow = narrow
        self._lock = threading.Lock()
        self._running = 0
        # How many runs each session took ("wide"/"narrow"): read by tests and the start-up log.
        self.runs: Counter[str] = Counter()

    def run(self, feeds: Feeds) -> npt.NDArray[np.float32]:
        with self._lock:
            self._running += 1
            lane = "wide" if self._running == 1 else "narrow"
            self.runs[lane] += 1
        try:
            return (self._wide if lane == "wide" else self._narrow).run(feeds)
        finally:
            with self._lock:
                self._running -= 1
