"""One process, two front doors: uvicorn (HTTP) and grpc.aio (gRPC) on one event loop over one
`ServiceContext`.

Lifecycle: listeners start first (liveness answers at once, readiness and gRPC health say not ready), then
the model loads and warms up, then both doors report ready. On SIGTERM/SIGINT readiness flips at once, the
gRPC server stops taking new calls (GOAWAY), new HTTP work is refused with `draining`, admitted work finishes
up to the drain deadline, the core, cache and media (temp files, ffmpeg children) are closed, and `run()`
returns 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn

from service.app import ServiceContext
from service.grpc_api.server import build_grpc_server
from service.http_api.app import create_app
from service.settings import Settings

log = logging.getLogger(__name__)


class _Uvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The process owns SIGTERM: it must drain both doors, not let uvicorn stop HTTP alone.
        yield


class ServiceProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.context = ServiceContext(settings)
        self.http_port: int | None = None
        self.grpc_port: int | None = None
        self.listening = asyncio.Event()
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        """Begins a graceful shutdown; safe to call from a signal handler on the loop."""
        self.context.begin_drain()
        self._stop.set()

    async def run(self, *, install_signals: bool = True) -> int:
        settings, ctx = self.settings, self.context
        grpc_server, health = build_grpc_server(ctx)
        await health.not_serving()
        self.grpc_port = grpc_server.add_insecure_port(f"{settings.grpc_host}:{settings.grpc_port}")
        await grpc_server.start()
        config = uvicorn.Config(
            create_app(context=ctx),
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
            timeout_keep_alive=settings.http_keep_alive_s,
            backlog=settings.http_backlog,
        )
        http = _Uvicorn(config)
        http_task = asyncio.create_task(http.serve(), name="http")
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
        while not http.started and not http_task.done():
            await asyncio.sleep(0.01)
        if http.started:
            self.http_port = http.servers[0].sockets[0].getsockname()[1]
        log.info("listening", extra={"http_port": self.http_port, "grpc_port": self.grpc_port})
        self.listening.set()

        exit_code = 0
        loading = asyncio.create_task(ctx.load(), name="load")
        stopping = asyncio.create_task(self._stop.wait(), name="stop")
        done, _ = await asyncio.wait({loading, stopping, http_task}, return_when=asyncio.FIRST_COMPLETED)
        if loading in done and loading.exception() is None and not ctx.draining:
            await health.serving()
            done, _ = await asyncio.wait({stopping, http_task}, return_when=asyncio.FIRST_COMPLETED)
        elif loading in done:
            log.error("model failed to load", exc_info=loading.exception())
            exit_code = 1
        if http_task in done and not self._stop.is_set():
            log.error("HTTP server stopped unexpectedly")
            exit_code = 1

        # Drain: flip readiness and health now, then let admitted requests finish.
        ctx.begin_drain()
        await health.not_serving()
        if not loading.done():
            loading.cancel()
            with contextlib.suppress(BaseException):
                await loading
        # gRPC stops at once, concurrently with the core drain: the listener closes and GOAWAY refuses new
        # connections and streams at the transport level, so nginx and clients retry another replica right
        # away, while calls already running get the whole drain deadline to finish.
        grpc_stopping = asyncio.create_task(
            grpc_server.stop(grace=settings.drain_timeout_s), name="grpc-stop"
        )
        finished = await ctx.drain()
        log.info("drained", extra={"all_finished": finished})
        await grpc_stopping
        http.should_exit = True
        with contextlib.suppress(BaseException):
            await http_task
        stopping.cancel()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        return exit_code


def run(settings: Settings) -> int:
    return asyncio.run(ServiceProcess(settings).run())
