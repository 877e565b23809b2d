"""Runs a route's work so that a client hanging up cancels it: the download stops, ffmpeg is killed and
the permits are released at once instead of after the work's own timeout. Work shared through
single-flight lives on while another caller still waits for it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

from fastapi import Request

from service.errors import ClientClosedError

T = TypeVar("T")


async def _until_disconnect(request: Request) -> None:
    # The body was read before the route ran, so the next ASGI message can only be the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_disconnected(request: Request, work: Coroutine[Any, Any, T]) -> T:
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_until_disconnect(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        watcher.cancel()
        with contextlib.suppress(BaseException):
            await watcher
    if task.cancelled():
        raise ClientClosedError("the client disconnected before the answer was ready")
    return task.result()
