"""One process, two front doors: uvicorn (HTTP) and grpc.aio (gRPC) on one event loop over one
`ServiceContext`.

Lifecycle: listeners start first (liveness answers at once, readiness and gRPC health say not ready), then
the model loads and warms up, then both doors report ready. On SIGTERM/SIGINT readiness flips at once, the
gRPC server stops taking new calls (GOAWAY), new HTTP work is refused with `draining`, admitted work finishes
up to the drain deadline, the core, cache and media (temp files, ffmpeg children) are closed, and `run()`
returns 0. SIGHUP re-reads the configured bundle list and reloads the models whose bundle changed, without
failing requests (service/model_service.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI

from service.app import ServiceContext
from service.child_watcher import use_pidfd_child_watcher
from service.grace import EXIT_MARGIN_S
from service.grpc_api.server import build_grpc_server
from service.http_api.app import create_app
from service.http_api.ops_app import create_ops_app
from service.settings import Settings
from service.tracing import process_tracing

log = logging.getLogger(__name__)

_GRPC_GRACE_MARGIN_S = 3.0
_WATCHDOG_EXIT_CODE = 3


class _Uvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The process owns SIGTERM: it must drain both doors, not let uvicorn stop HTTP alone.
        yield


def _uvicorn(
    app: FastAPI, host: str, port: int, *, lifespan: Literal["on", "off"], grace_s: int, **options: Any
) -> _Uvicorn:
    # log_config=None keeps the service's own logging setup; the access log is off because the HTTP
    # middleware logs each request itself, with its request id.
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan=lifespan,
        timeout_graceful_shutdown=grace_s,
        **options,
    )
    return _Uvicorn(config)


class ServiceProcess:
    def __init__(self, settings: Settings, *, hard_exit: bool = False, freeze_gc: bool = False) -> None:
        self.settings = settings
        self._hard_exit = hard_exit  # only a real process may os._exit; a test's in-thread server may not
        self._freeze_gc = freeze_gc  # likewise: freezing reaches every object of the process
        self._watchdog: threading.Timer | None = None
        self.context = ServiceContext(settings)
        self.http_port: int | None = None
        self.grpc_port: int | None = None
        self.ops_port: int | None = None
        self.listening = asyncio.Event()
        self._stop = asyncio.Event()
        self._syncs: set[asyncio.Task[object]] = set()

    def request_stop(self) -> None:
        """Begins a graceful shutdown; safe to call from a signal handler on the loop."""
        self.context.begin_drain()
        self._stop.set()
        if self._hard_exit and self._watchdog is None:
            # Last resort for the exit promise (drain deadline + EXIT_MARGIN_S): a worker thread stuck in
            # native code would otherwise keep the interpreter alive until Kubernetes SIGKILLs it.
            self._watchdog = threading.Timer(
                self.settings.drain_timeout_s + EXIT_MARGIN_S - 0.5, os._exit, (_WATCHDOG_EXIT_CODE,)
            )
            self._watchdog.daemon = True
            self._watchdog.start()

    def request_sync(self) -> None:
        """SIGHUP: re-reads the configured bundle list and reloads what changed, in the background
        (service/model_service.py); ignored while loading or draining."""
        if not self.context.ready:
            log.warning("SIGHUP ignored: the server is not ready")
            return
        task: asyncio.Task[object] = asyncio.create_task(self.context.model_service.sync(), name="sync")
        self._syncs.add(task)
        task.add_done_callback(self._syncs.discard)

    async def run(self, *, install_signals: bool = True) -> int:
        settings, ctx = self.settings, self.context
        for warning in settings.shutdown_budget().warnings():
            log.warning(warning)
        grpc_server, health = build_grpc_server(ctx)
        await health.not_serving()
        self.grpc_port = grpc_server.add_insecure_port(f"{settings.grpc_host}:{settings.grpc_port}")
        await grpc_server.start()
        api = create_app(context=ctx)
        http = _uvicorn(
            api,
            settings.http_host,
            settings.http_port,
            lifespan="on",
            grace_s=5,
            timeout_keep_alive=settings.http_keep_alive_s,
            backlog=settings.http_backlog,
        )
        http_task = asyncio.create_task(http.serve(), name="http")
        ops = _ops_server(settings, create_ops_app(ctx, api))
        ops_task = asyncio.create_task(ops.serve(), name="ops") if ops is not None else None
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
            loop.add_signal_handler(signal.SIGHUP, self.request_sync)
        while not http.started and not http_task.done():
            await asyncio.sleep(0.01)
        if http.started:
            self.http_port = http.servers[0].sockets[0].getsockname()[1]
        while ops is not None and ops_task is not None and not ops.started and not ops_task.done():
            await asyncio.sleep(0.01)
        if ops is not None and ops.started:
            self.ops_port = ops.servers[0].sockets[0].getsockname()[1]
        log.info(
            "listening",
            extra={"http_port": self.http_port, "grpc_port": self.grpc_port, "ops_port": self.ops_port},
        )
        self.listening.set()

        exit_code = 0
        loading = asyncio.create_task(ctx.load(), name="load")
        stopping = asyncio.create_task(self._stop.wait(), name="stop")
        done, _ = await asyncio.wait({loading, stopping, http_task}, return_when=asyncio.FIRST_COMPLETED)
        if loading in done and loading.exception() is None and not ctx.draining:
            await health.serving()
            if self._freeze_gc:
                # What start-up made (frameworks, models, sessions) lives as long as the process: moved out of the
                # cyclic collector's generations, a collection stops walking it on every request (the collector
                # was ~6 % of the server's CPU per URL clip, issue 24). A model unloaded later is freed by
                # reference counting as before; only cycles among frozen objects would stay.
                gc.collect()
                gc.freeze()
            done, _ = await asyncio.wait({stopping, http_task}, return_when=asyncio.FIRST_COMPLETED)
        elif loading in done:
            log.error("model failed to load", exc_info=loading.exception())
            exit_code = 1
        if http_task in done and not self._stop.is_set():
            log.error("HTTP server stopped unexpectedly")
            exit_code = 1

        # Drain: flip readiness and health now, then let admitted requests finish.
        ctx.begin_drain()
        for sync in list(self._syncs):
            sync.cancel()
        await health.not_serving()
        if not loading.done():
            loading.cancel()
            with contextlib.suppress(BaseException):
                await loading
        # gRPC stops at once, concurrently with the core drain: the listener closes and GOAWAY refuses new
        # connections and streams at the transport level, so nginx and clients retry another replica right
        # away, while calls already running get the whole drain deadline to finish.
        # The grace outlasts the drain deadline, so calls cut off at that deadline answer UNAVAILABLE
        # (draining) themselves before gRPC would cancel them.
        grpc_stopping = asyncio.create_task(
            grpc_server.stop(grace=settings.drain_timeout_s + _GRPC_GRACE_MARGIN_S), name="grpc-stop"
        )
        finished = await ctx.drain()
        log.info("drained", extra={"all_finished": finished})
        await grpc_stopping
        http.should_exit = True
        with contextlib.suppress(BaseException):
            await http_task
        if ops is not None and ops_task is not None:
            ops.should_exit = True
            with contextlib.suppress(BaseException):
                await ops_task
        stopping.cancel()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
        return exit_code


def _ops_server(settings: Settings, app: FastAPI) -> _Uvicorn | None:
    if settings.ops_port is None:
        return None
    return _uvicorn(app, settings.ops_host, settings.ops_port, lifespan="off", grace_s=1)


def run(settings: Settings) -> int:
    # Tracing is per process (OpenTelemetry has one provider per process): set up here, not per app.
    use_pidfd_child_watcher()
    with process_tracing(os.environ):
        return asyncio.run(ServiceProcess(settings, hard_exit=True, freeze_gc=True).run())
