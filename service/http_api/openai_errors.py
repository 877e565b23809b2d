"""Errors of the OpenAI-compatible routes in OpenAI's shape: `{"error": {message, type, param, code}}`.

OpenAI's SDKs and the frameworks built on them (LangChain, LlamaIndex) read `type` and `param`; `code` stays
this service's stable code, so a client sees the same code as on the native routes. Only the routes built
with `OpenAIRoute` answer this way; the rest of the API keeps `service.http_api.errors`' shape.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from service.errors import InvalidRequestError, ServiceError
from service.http_api.errors import error_headers

# OpenAI's error families by HTTP status; anything else 4xx is a request error, 5xx a server error.
_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
    503: "server_error",
}

_INPUT_SHAPES = "a string, a list of strings, a list of token ids, or a list of token-id lists"


class OpenAIParamError(Exception):
    """A service error that names the request field at fault (OpenAI's `param`)."""

    def __init__(self, error: ServiceError, param: str) -> None:
        super().__init__(error.message)
        self.error = error
        self.param = param


def openai_error_type(status: int) -> str:
    if status in _TYPES:
        return _TYPES[status]
    return "server_error" if status >= 500 else "invalid_request_error"


def openai_error_response(error: ServiceError, param: str | None = None) -> JSONResponse:
    body = {
        "message": error.message,
        "type": openai_error_type(error.http_status),
        "param": param,
        "code": error.code,
    }
    return JSONResponse({"error": body}, status_code=error.http_status, headers=error_headers(error))


def validation_error(exc: RequestValidationError) -> OpenAIParamError:
    """The first failing field as `param`, in words a client can act on rather than pydantic's union dump."""
    errors = exc.errors()
    loc = [str(part) for part in (errors[0].get("loc", ()) if errors else ()) if part != "body"]
    param = loc[0] if loc else "body"
    if param == "input":
        message = f"input must be {_INPUT_SHAPES}"
    else:
        where = ".".join(loc) or "body"
        message = f"{where}: {errors[0].get('msg', 'invalid') if errors else 'invalid request'}"
    return OpenAIParamError(InvalidRequestError(message), param)


class OpenAIRoute(APIRoute):
    """An APIRoute whose failures, including body validation, use OpenAI's error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except OpenAIParamError as exc:
                return openai_error_response(exc.error, exc.param)
            except ServiceError as exc:
                return openai_error_response(exc)
            except RequestValidationError as exc:
                failure = validation_error(exc)
                return openai_error_response(failure.error, failure.param)

        return route
