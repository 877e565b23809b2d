"""The API description served at /openapi.json: FastAPI's, less what this server never answers.

FastAPI documents a 422 "Validation Error" (its HTTPValidationError body) on every route with a body or a
parameter; this server turns validation failures into 400 with the error envelope (`errors.py`), which every
route already documents. Explicit 422 answers (a bundle that fails validation on the admin routes) stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

from service import __version__

TITLE = "VideoPrism embedding service"
DESCRIPTION = 'Video and text embeddings in one space. Errors are `{"error": {"code", "message"}}`.'
_FASTAPI_422 = "Validation Error"
_FASTAPI_SCHEMAS = ("HTTPValidationError", "ValidationError")


def describe_api(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    spec = get_openapi(title=TITLE, version=__version__, description=DESCRIPTION, routes=routes)
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.get("422", {}).get("description") == _FASTAPI_422:
                del responses["422"]
    schemas = spec.get("components", {}).get("schemas", {})
    for name in _FASTAPI_SCHEMAS:
        schemas.pop(name, None)
    return spec


def install_api_description(app: FastAPI) -> None:
    """`app.openapi()` (and so /openapi.json and /docs) serves `describe_api`, built once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_api(app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
