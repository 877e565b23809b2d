"""Server-side duration of every completed RPC as trailing metadata, `server-timing: total;dur=<ms>`, the
same syntax as HTTP's Server-Timing header, so a client can tell time spent in the server from time spent
on the network without access to the server's metrics.

An RPC that fails carries its error details in the trailers instead (aborting replaces them).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

SERVER_TIMING_KEY = "server-timing"


def server_timing_value(seconds: float) -> str:
    return f"total;dur={seconds * 1000:.2f}"


def _stamp(context: grpc.aio.ServicerContext, started: float) -> None:
    # Merged with what the handler or an outer interceptor set (the request id), never replacing it.
    existing = tuple(context.trailing_metadata() or ())
    timing = (SERVER_TIMING_KEY, server_timing_value(time.perf_counter() - started))
    context.set_trailing_metadata((*existing, timing))


def _timed(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    if handler.response_streaming:
        behavior = handler.stream_stream or handler.unary_stream

        async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            started = time.perf_counter()
            result = behavior(request, context)
            if hasattr(result, "__aiter__"):
                async for item in result:
                    yield item
            else:  # a handler that writes with context.write() and returns nothing
                await result
            _stamp(context, started)

        field = "stream_stream" if handler.request_streaming else "unary_stream"
        return handler._replace(**{field: streaming})  # type: ignore[attr-defined,no-any-return]

    unary_behavior = handler.stream_unary or handler.unary_unary

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        started = time.perf_counter()
        response = await unary_behavior(request, context)
        _stamp(context, started)
        return response

    field = "stream_unary" if handler.request_streaming else "unary_unary"
    return handler._replace(**{field: unary})  # type: ignore[attr-defined,no-any-return]


class ServerTimingInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        return _timed(handler)
