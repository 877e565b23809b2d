"""FastAPI dependencies: the service context lives on `app.state` (set by the lifespan), never in a global."""

from __future__ import annotations

import base64
from typing import Annotated

import numpy as np
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.app import ServiceContext
from service.core import InferenceCore
from service.core.types import Vector

# Documents the bearer scheme in OpenAPI; the key itself is checked by FrontDoorMiddleware, before the body
# is read, so this dependency never rejects anything (auto_error=False).
bearer = HTTPBearer(
    auto_error=False, description="API key, when the server is configured with VIDEOPRISM_API_KEYS."
)


# The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency on its thread pool, and
# three thread hops per request were a measurable share of a request's CPU (and GIL hand-offs).


async def get_context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.context
    return ctx


async def get_core(ctx: Annotated[ServiceContext, Depends(get_context)]) -> InferenceCore:
    return ctx.core  # raises not_ready / draining


async def documented_auth(_: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    return None


ContextDep = Annotated[ServiceContext, Depends(get_context)]
CoreDep = Annotated[InferenceCore, Depends(get_core)]


def encode_vector(vector: Vector, encoding: str) -> list[float] | str:
    """Floats, or base64 of the little-endian float32 bytes (what OpenAI's `encoding_format=base64` means)."""
    if encoding == "base64":
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]
