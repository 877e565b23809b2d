"""Single-flight: concurrent calls with the same key share one computation (per process).

The first caller (the leader) runs the computation in its own task, with no extra task or future, because
almost every call has no company and a task per request is a large share of a small model's request cost.
Later callers with the same key wait on a shared future. If the leader goes away (cancelled), the work is
abandoned, as it would be without company, and one of the waiting callers takes over and runs it again; so
a caller going away never fails the others, and abandoned work does not keep the engine busy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _LeaderGone(Exception):
    """Set on the shared future when the leader was cancelled: a waiting caller becomes the leader."""


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._calls: dict[K, asyncio.Future[V]] = {}

    @property
    def in_flight(self) -> int:
        return len(self._calls)

    async def run(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        while True:
            shared = self._calls.get(key)
            if shared is None:
                return await self._lead(key, compute)
            try:
                # shield: a waiting caller that is cancelled must not cancel the shared future.
                return await asyncio.shield(shared)
            except _LeaderGone:
                continue

    async def _lead(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        shared: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._calls[key] = shared
        try:
            value = await compute()
        except Exception as exc:
            self._finish(key, shared)
            shared.set_exception(exc)
            raise
        except BaseException:  # cancelled: the work is abandoned and a waiting caller takes over
            self._finish(key, shared)
            shared.set_exception(_LeaderGone())
            raise
        self._finish(key, shared)
        shared.set_result(value)
        return value

    def _finish(self, key: K, shared: asyncio.Future[V]) -> None:
        if self._calls.get(key) is shared:
            del self._calls[key]
        # Nobody may be waiting; reading the exception here keeps asyncio from logging "exception was
        # never retrieved" for a future only the followers would have looked at.
        shared.add_done_callback(_consume)


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
