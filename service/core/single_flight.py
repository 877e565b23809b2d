"""Single-flight: concurrent calls with the same key share one computation (per process).

The computation runs as its own task so one caller going away does not cancel it for the others; when
the last waiting caller goes away it is cancelled, so abandoned work does not keep the engine busy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(eq=False)
class _Call(Generic[V]):
    task: asyncio.Task[V]
    waiters: int = 0


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._calls: dict[K, _Call[V]] = {}

    @property
    def in_flight(self) -> int:
        return len(self._calls)

    async def run(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        call = self._calls.get(key)
        if call is None:
            call = _Call(asyncio.ensure_future(compute()))
            self._calls[key] = call
            call.task.add_done_callback(self._forgetter(key, call))
        call.waiters += 1
        try:
            return await asyncio.shield(call.task)
        finally:
            call.waiters -= 1
            if call.waiters == 0 and not call.task.done():
                self._forget(key, call)
                call.task.cancel()

    def _forgetter(self, key: K, call: _Call[V]) -> Callable[[asyncio.Task[V]], None]:
        return lambda _task: self._forget(key, call)

    def _forget(self, key: K, call: _Call[V]) -> None:
        if self._calls.get(key) is call:
            del self._calls[key]
