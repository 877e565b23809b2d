"""Maps the error taxonomy onto HTTP: `{"error": {"code", "message"}}` with the class's status code.

Every path out of the app that is not a success goes through `error_response`, including validation errors
(`invalid_request`) and unexpected exceptions (`internal`, logged with the traceback, never echoed).
"""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import InternalError, InvalidRequestError, PayloadTooLargeError, ServiceError

log = logging.getLogger(__name__)


def error_headers(error: ServiceError) -> dict[str, str]:
    if error.retry_after_s is not None:
        return {"Retry-After": str(max(1, math.ceil(error.retry_after_s)))}
    return {}


def error_response(error: ServiceError) -> JSONResponse:
    return JSONResponse(
        {"error": error.to_dict()}, status_code=error.http_status, headers=error_headers(error)
    )


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return error_response(exc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(InvalidRequestError(_describe_validation(exc)))


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    # Routing errors (unknown path, wrong method) keep their status but use our error body.
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 413:
        return error_response(PayloadTooLargeError(str(exc.detail)))
    body = {
        "error": {
            "code": "invalid_request" if exc.status_code < 500 else "internal",
            "message": str(exc.detail),
        }
    }
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return error_response(InternalError("internal error"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
