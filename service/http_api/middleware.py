"""Pure-ASGI middleware that runs before FastAPI touches the request: request id, API key, scope and rate
limit, body-size cap and admission (draining, in-flight limit). Being in front of routing means a refused
request is refused before any byte of its body is read, parsed, fetched or looked up in the cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.app import ServiceContext
from service.auth.scopes import http_scope
from service.errors import PayloadTooLargeError, ServiceError
from service.http_api.errors import error_response
from service.http_api.request_metrics import result_code, route_label
from service.logging import REQUEST_ID_HEADER, new_request_id, request_id_var

log = logging.getLogger("service.http_api.access")

# Liveness and readiness stay open: probes carry no key.
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})
# Metrics and the API description: open on the operations listener (never exposed outside the cluster),
# and on the main listener only while no API key is configured.
OPS_PATHS = frozenset({"/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
UPLOAD_PATH = "/v1/embed/video/upload"
# Only embedding routes count against `max_in_flight`; /v1/models stays answerable under overload.
EMBED_PATHS = ("/v1/embed/", "/v1/embeddings")
# Multipart framing (boundaries, part headers, form fields) on top of the file bytes themselves.
_MULTIPART_OVERHEAD = 1024 * 1024


def untraced(scope: MutableMapping[str, Any]) -> bool:
    """Probes, metrics scrapes and the API description get no trace: they would bury the requests."""
    return scope.get("path") in HEALTH_PATHS or scope.get("path") in OPS_PATHS


class BodyTooLarge(HTTPException):
    """Raised from inside `receive`: FastAPI re-raises HTTPExceptions from body reading unchanged (any other
    exception becomes a generic 400), and the error handlers map 413 to `payload_too_large`."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")


class FrontDoorMiddleware:
    def __init__(self, app: ASGIApp, context: Callable[[], ServiceContext]) -> None:
        self.app = app
        self._context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = new_request_id(headers.get(REQUEST_ID_HEADER))
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = {"code": 0}
        error_body = bytearray()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            elif message["type"] == "http.response.body" and status["code"] >= 400 and not error_body:
                error_body.extend(message.get("body", b"")[:4096])  # errors are small JSON bodies
            await send(message)

        try:
            await self._handle(scope, receive, send_with_id, headers)
        finally:
            path: str = scope["path"]
            if path.startswith("/v1/"):
                self._context().metrics.front_door_finished(
                    "http",
                    route_label(path),
                    result_code(status["code"], bytes(error_body)),
                    time.perf_counter() - started,
                )
            log.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status["code"],
                extra={
                    "status": status["code"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        path: str = scope["path"]
        ctx = self._context()
        if path in OPS_PATHS:
            await self._ops(ctx, scope, receive, send, headers)
            return
        if path in HEALTH_PATHS or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        settings = ctx.settings
        limit = (
            settings.max_upload_bytes + _MULTIPART_OVERHEAD
            if path == UPLOAD_PATH
            else settings.max_body_bytes
        )
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await ctx.authorize(headers.get("authorization"), http_scope(path))
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise PayloadTooLargeError(f"request body is larger than {limit} bytes")
            async with ctx.admit(limited=path.startswith(EMBED_PATHS), endpoint=path):
                await self._call_limited(scope, receive, send_tracking, limit)
        except ServiceError as error:
            # A drain cut-off can land while the answer is being written; then the connection just ends.
            if not started:
                await error_response(error)(scope, receive, send)

    async def _ops(
        self, ctx: ServiceContext, scope: Scope, receive: Receive, send: Send, headers: Headers
    ) -> None:
        try:
            ctx.authenticate(headers.get("authorization"))  # any valid key; anonymous when keys are off
        except ServiceError as error:
            await error_response(error)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _call_limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)
