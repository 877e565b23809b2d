"""A client hanging up cancels the route's work: the download stops, ffmpeg is killed and the permits are
released at once instead of after the work's own timeout. Work shared through single-flight lives on
while another caller still waits for it.

`async with ClientWatch(request): ...` runs the work in the route's own task (no task per request, no
extra call between the route and the service); a side task waits for the disconnect and cancels the
route's task, like `asyncio.timeout` does when its time is up."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from fastapi import Request

from service.errors import ClientClosedError


class ClientWatch:
    __slots__ = ("_cancelling", "_gone", "_request", "_task", "_watcher")

    def __init__(self, request: Request) -> None:
        self._request = request
        self._task: asyncio.Task[Any] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._cancelling = 0
        self._gone = False

    async def __aenter__(self) -> None:
        self._task = asyncio.current_task()
        if self._task is not None:
            self._cancelling = self._task.cancelling()
            self._watcher = asyncio.ensure_future(self._watch(self._task))
            self._watcher.add_done_callback(_retrieve)

    async def _watch(self, task: asyncio.Task[Any]) -> None:
        # The body was read before the route ran, so the next ASGI message can only be the disconnect.
        while (await self._request.receive())["type"] != "http.disconnect":
            pass
        self._gone = True
        task.cancel()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        if not self._gone or self._task is None:
            return
        # Only a cancel of ours becomes `client_closed`; one from elsewhere too (the drain's cut-off)
        # goes on as a cancel.
        if (
            self._task.uncancel() <= self._cancelling
            and kind is not None
            and issubclass(kind, asyncio.CancelledError)
        ):
            raise ClientClosedError("the client disconnected before the answer was ready") from None


def _retrieve(watcher: asyncio.Task[None]) -> None:
    # Nobody awaits the watcher: reading its outcome keeps a failed `receive` from being logged as
    # "exception was never retrieved".
    if not watcher.cancelled():
        watcher.exception()
