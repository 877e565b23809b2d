"""Bookkeeping of the live ffmpeg process groups of one ingestor, so shutdown can kill every one of them."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by `pid` (each ffmpeg runs in its own session); gone already is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class ChildTracker:
    """Thread-safe set of process-group leaders; decodes run in worker threads and on the event loop."""

    def __init__(self) -> None:
        self._pids: set[int] = set()
        self._lock = threading.Lock()
        self._closed = False
        # Told the signal number when a child dies of a signal nobody here sent (a decoder crash).
        self.crash_hook: Callable[[int], None] | None = None

    def crashed(self, signal_number: int) -> None:
        # After `kill_all` the signal is likely our own SIGKILL, not a crash.
        if self.crash_hook is not None and not self._closed:
            self.crash_hook(signal_number)

    def add(self, pid: int) -> None:
        with self._lock:
            closed = self._closed
            self._pids.add(pid)
        if closed:
            # Started after shutdown began: nobody would kill it later.
            kill_group(pid)

    def discard(self, pid: int) -> None:
        with self._lock:
            self._pids.discard(pid)

    @property
    def live(self) -> int:
        """How many children were started and not yet reaped."""
        with self._lock:
            return len(self._pids)

    def kill_all(self) -> None:
        """Kill every tracked group now and every group registered from now on."""
        with self._lock:
            self._closed = True
            pids = list(self._pids)
        for pid in pids:
            kill_group(pid)
