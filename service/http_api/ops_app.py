"""The operations listener (`VIDEOPRISM_OPS_PORT`): health, metrics and the API description, without keys.

It is meant for the cluster network only (Prometheus, probes, people reading the docs); the Service,
NetworkPolicy and nginx expose the main port alone. The OpenAPI document it serves is the main app's.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from service.app import ServiceContext
from service.http_api import routes_ops
from service.http_api.openapi_doc import TITLE, describe_api


def create_ops_app(context: ServiceContext, api: FastAPI) -> FastAPI:
    app = FastAPI(
        title=f"{TITLE} (operations)",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        telemetry={"tracing": False},  # scrapes and probes are not worth a trace
    )
    app.state.context = context
    app.include_router(routes_ops.router)
    app.include_router(routes_ops.metrics_router)
    schema: dict[str, Any] = {}

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        if not schema:
            schema.update(describe_api(api.routes))
        return JSONResponse(schema)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=TITLE)

    return app
