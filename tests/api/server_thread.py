"""Runs the real two-door `ServiceProcess` on loopback in a background thread with its own event loop, so
tests talk to it over real sockets exactly as clients do."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx

from service.server import ServiceProcess
from service.settings import Settings


class ServerThread:
    def __init__(self, settings: Settings) -> None:
        self.process = ServiceProcess(settings)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._main, name="service", daemon=True)
        self.exit_code: int | None = None
        self.error: BaseException | None = None

    def _main(self) -> None:
        async def run() -> int:
            self._loop = asyncio.get_running_loop()
            return await self.process.run(install_signals=False)

        try:
            self.exit_code = asyncio.run(run())
        except BaseException as exc:
            self.error = exc

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.process.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.process.grpc_port}"

    def start(self, *, wait_ready: bool = True, timeout_s: float = 60.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.process.listening.is_set():
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {self.error!r}")
            time.sleep(0.02)
        while wait_ready and not self.process.context.ready:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server did not become ready: {self.error!r}")
            time.sleep(0.02)
        return self

    def start_wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.process.context.ready:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server did not become ready: {self.error!r}")
            time.sleep(0.02)

    def call(self, fn: Any) -> None:
        """Runs `fn()` on the server's loop (e.g. to begin a drain)."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(fn)

    def stop(self, timeout_s: float = 30.0) -> int | None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self.process.request_stop)
        self._thread.join(timeout_s)
        return self.exit_code

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.http_url, timeout=30.0, **kwargs)
