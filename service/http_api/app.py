"""FastAPI app factory. The lifespan either adopts a `ServiceContext` built by the process (one core shared
with gRPC) or, standalone, builds and loads its own and drains it on shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service import __version__
from service.app import ServiceContext
from service.http_api import routes_admin, routes_jobs, routes_ops, routes_text, routes_video
from service.http_api.errors import install_error_handlers
from service.http_api.middleware import FrontDoorMiddleware, untraced
from service.http_api.openapi_doc import DESCRIPTION, TITLE, install_api_description
from service.settings import Settings


def create_app(settings: Settings | None = None, *, context: ServiceContext | None = None) -> FastAPI:
    ctx = context or ServiceContext(settings or Settings())
    owns_context = context is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owns_context:
            await ctx.load()
        try:
            yield
        finally:
            if owns_context:
                await ctx.drain()

    # With an operations port the API description and metrics move there (ops_app.py).
    separate_ops = ctx.settings.ops_port is not None
    app = FastAPI(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None if separate_ops else "/docs",
        redoc_url=None if separate_ops else "/redoc",
        openapi_url=None if separate_ops else "/openapi.json",
        # FastAPI's own OpenTelemetry span (W3C traceparent in, one server span per request) switches on
        # only when the process installed a tracer provider (service/tracing.py). Its per-request
        # dependency/endpoint/serialization spans are off: they tripled the spans of a text request and
        # the pipeline's own spans already hang under the request span.
        telemetry={"exclude": untraced, "operation_spans": False},
    )
    app.state.context = ctx
    install_error_handlers(app)
    app.add_middleware(FrontDoorMiddleware, context=lambda: ctx)
    for module in (routes_ops, routes_video, routes_text, routes_jobs, routes_admin):
        app.include_router(module.router)
    if not separate_ops:
        app.include_router(routes_ops.metrics_router)
    install_api_description(app)
    return app
