"""One server interceptor for every RPC of the embedding service: request id, API key, scope, rate limit,
admission (draining, in-flight limit), messages that do not parse, error mapping and the access log line.
Health passes through untouched; reflection needs a key when keys are set.

The key and the in-flight limit are checked from the call's metadata before the handler is even looked up: a refused call gets a
handler without a request deserializer, so its payload is never parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from service.app import ServiceContext
from service.auth.keys import Principal, principal_var
from service.auth.scopes import grpc_scope
from service.errors import InternalError, InvalidRequestError, ServiceError
from service.grpc_api.errors import abort
from service.logging import REQUEST_ID_HEADER, new_request_id, request_id_var

log = logging.getLogger("service.grpc_api.access")
PROTECTED_PREFIX = "/videoprism.v1."
REFLECTION_PREFIX = "/grpc.reflection."
_REFUSAL_GRACE_S = 1.0
_REFUSAL_MAX_MESSAGES = 16
# Metadata is cheap and most wanted under overload, so it is not counted against `max_in_flight`.
_UNLIMITED_METHODS = frozenset({"/videoprism.v1.EmbeddingService/GetModelInfo"})


def _metadata(details: grpc.HandlerCallDetails) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in details.invocation_metadata or ():  # type: ignore[attr-defined]
        if isinstance(value, str):
            out[key.lower()] = value
    return out


def _method_label(details: grpc.HandlerCallDetails) -> str:
    method: str = details.method  # type: ignore[attr-defined]
    return method.rsplit("/", 1)[-1]


class FrontDoorInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method: str = handler_call_details.method  # type: ignore[attr-defined]
        if method.startswith(REFLECTION_PREFIX):
            # Reflection describes the whole API surface: with keys set, only key holders may read it.
            try:
                self._ctx.authenticate(_metadata(handler_call_details).get("authorization"))
            except ServiceError as error:
                return await self._refusal(continuation, handler_call_details, error, new_request_id(None))
            return await continuation(handler_call_details)
        if not method.startswith(PROTECTED_PREFIX):
            return await continuation(handler_call_details)
        metadata = _metadata(handler_call_details)
        request_id = new_request_id(metadata.get(REQUEST_ID_HEADER))
        limited = method not in _UNLIMITED_METHODS
        try:
            principal = await self._ctx.authorize(metadata.get("authorization"), grpc_scope(method))
            if limited:
                # Checked here, before the handler deserializes anything, like the key.
                self._ctx.check_capacity(method)
        except ServiceError as error:
            return await self._refusal(continuation, handler_call_details, error, request_id)
        handler = await continuation(handler_call_details)
        return _wrap(handler, method, request_id, self._ctx, limited=limited, principal=principal)

    async def _refusal(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
        error: ServiceError,
        request_id: str,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)  # only to learn the RPC's cardinality

        async def refuse(_: Any, context: grpc.aio.ServicerContext) -> None:
            token = request_id_var.set(request_id)
            try:
                log.info("%s refused", details.method, extra={"code": error.code})  # type: ignore[attr-defined]
                self._ctx.metrics.front_door_finished("grpc", _method_label(details), error.code, 0.0)
                await abort(context, error)
            finally:
                request_id_var.reset(token)

        async def refuse_client_stream(request_iterator: Any, context: grpc.aio.ServicerContext) -> None:
            # Finishing the call while the client is still writing makes grpc clients report INTERNAL
            # instead of our status, so unparsed (raw bytes) messages are skipped for a bounded moment first.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_REFUSAL_GRACE_S):
                    count = 0
                    async for _ in request_iterator:
                        count += 1
                        if count >= _REFUSAL_MAX_MESSAGES:
                            break
            await refuse(None, context)

        async def refuse_streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
            if handler is not None and handler.request_streaming:
                await refuse_client_stream(request, context)
            await refuse(request, context)
            yield None  # unreachable; makes this an async generator like the handler it replaces

        if handler is None:
            return None  # type: ignore[return-value]
        if handler.request_streaming and handler.response_streaming:
            return grpc.stream_stream_rpc_method_handler(refuse_streaming)
        if handler.request_streaming:
            return grpc.stream_unary_rpc_method_handler(refuse_client_stream)
        if handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(refuse_streaming)
        return grpc.unary_unary_rpc_method_handler(refuse)


class _Unparsable:
    """Stands in for a message whose bytes do not parse, so the handler (not gRPC core, which would answer
    UNKNOWN) refuses it as `invalid_request`."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as exc:  # DecodeError and whatever a custom deserializer raises
            return _Unparsable(exc)

    return parse


def _parsed(request: Any) -> Any:
    if isinstance(request, _Unparsable):
        raise InvalidRequestError(f"the request message does not parse: {request.error}")
    return request


async def _parsed_stream(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        yield _parsed(request)


def _wrap(
    handler: grpc.RpcMethodHandler,
    method: str,
    request_id: str,
    ctx: ServiceContext,
    *,
    limited: bool,
    principal: Principal,
) -> grpc.RpcMethodHandler:
    if handler is None:
        return handler
    handler = handler._replace(request_deserializer=_tolerant(handler.request_deserializer))  # type: ignore[attr-defined]

    def checked(request: Any) -> Any:
        return _parsed_stream(request) if handler.request_streaming else _parsed(request)

    async def begin(context: grpc.aio.ServicerContext) -> None:
        principal_var.set(principal)
        context.set_trailing_metadata(((REQUEST_ID_HEADER, request_id),))

    async def fail(context: grpc.aio.ServicerContext, exc: BaseException) -> None:
        error = exc if isinstance(exc, ServiceError) else InternalError("internal error")
        if not isinstance(exc, ServiceError):
            log.error("unhandled error in %s", method, exc_info=exc)
        await abort(context, error)

    def finish(started: float, code: str) -> None:
        ctx.metrics.front_door_finished(
            "grpc", method.rsplit("/", 1)[-1], code, time.perf_counter() - started
        )
        log.info(
            "%s %s",
            method,
            code,
            extra={"code": code, "duration_ms": round((time.perf_counter() - started) * 1000, 2)},
        )

    @contextlib.asynccontextmanager
    async def answering(context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
        """One admitted call, logged and counted once: a failure becomes its error status."""
        token = request_id_var.set(request_id)
        started, code = time.perf_counter(), "ok"
        try:
            await begin(context)
            async with ctx.admit(limited=limited):
                yield
        except ServiceError as exc:
            code = exc.code
            await fail(context, exc)
        except Exception as exc:
            if isinstance(exc, grpc.aio.AbortError):
                raise
            code = "internal"
            await fail(context, exc)
        finally:
            finish(started, code)
            # grpc closes a cancelled stream from another task, whose context never held the token.
            with contextlib.suppress(ValueError):
                request_id_var.reset(token)

    if handler.response_streaming:
        behavior = handler.stream_stream or handler.unary_stream

        async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            # aclosing: a cancelled call must stop the handler (and its decoder) now, not when the
            # abandoned generator is garbage-collected.
            async with (
                answering(context),
                contextlib.aclosing(behavior(checked(request), context)) as responses,
            ):
                async for response in responses:
                    yield response

        if handler.request_streaming:
            return handler._replace(stream_stream=streaming)  # type: ignore[attr-defined, no-any-return]
        return handler._replace(unary_stream=streaming)  # type: ignore[attr-defined, no-any-return]

    behavior_u = handler.stream_unary or handler.unary_unary

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        async with answering(context):
            return await behavior_u(checked(request), context)

    if handler.request_streaming:
        return handler._replace(stream_unary=unary)  # type: ignore[attr-defined, no-any-return]
    return handler._replace(unary_unary=unary)  # type: ignore[attr-defined, no-any-return]
