"""Admin routes (`admin` scope): load, reload and unload models without a restart.

A load or reload builds and warms the new engine first; only then is it swapped in, and requests already
running on the engine it replaces finish there (service/core/model_registry.py). A bundle that fails to
verify answers `bundle_invalid` and whatever was served keeps serving.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from service.auth.keys import ANONYMOUS, principal_var
from service.errors import PermissionDeniedError
from service.http_api.deps import ContextDep, documented_auth
from service.http_api.routes_ops import model_card
from service.http_api.schemas import ERROR_RESPONSES, ErrorResponse
from service.http_api.schemas_admin import LoadModelRequest, ReloadModelRequest, SyncResponse, UnloadResponse
from service.http_api.schemas_models import ModelCard, ModelsResponse


async def require_admin_key() -> None:
    """Admin routes need a real key with the `admin` scope (checked by the front door). With API keys off
    everyone is anonymous with every scope, which must not extend to loading and unloading models: such a
    server is reloaded by SIGHUP only."""
    principal = principal_var.get()
    if principal is None or principal is ANONYMOUS:
        raise PermissionDeniedError(
            "admin routes need an API key with the 'admin' scope (VIDEOPRISM_API_KEYS or "
            "VIDEOPRISM_API_KEYS_FILE); without keys, reload with SIGHUP"
        )


router = APIRouter(
    prefix="/v1/admin", tags=["admin"], dependencies=[Depends(documented_auth), Depends(require_admin_key)]
)

_CARD_EXAMPLE: dict[str, Any] = ModelsResponse.model_json_schema()["examples"][0]["data"][0]


def _error(code: str, message: str, description: str) -> dict[str, Any]:
    example = {"error": {"code": code, "message": message}}
    return {
        "model": ErrorResponse,
        "description": description,
        "content": {"application/json": {"example": example}},
    }


_ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    403: _error("permission_denied", "this API key lacks the 'admin' scope", "permission_denied"),
    404: _error(
        "model_not_found", "model 'x' is not served here; served models: base, lvt", "model_not_found"
    ),
    409: _error("model_exists", "model 'lvt' is already served; reload it instead", "model_exists"),
    422: _error("bundle_invalid", "bundle /models/lvt: manifest.json: missing", "bundle_invalid"),
}
_RELOAD_EXAMPLES: dict[str, Any] = {
    "same": {"summary": "Re-read the same directory", "value": {}},
    "new_path": {"summary": "Switch to another bundle", "value": {"path": "/models/videoprism-lvt-base-v2"}},
}
_CARD_RESPONSE = {"content": {"application/json": {"example": _CARD_EXAMPLE}}}


@router.post(
    "/models",
    response_model=ModelCard,
    status_code=201,
    summary="Load a bundle under a new name; served once warmed up.",
    responses={201: _CARD_RESPONSE, **_ADMIN_ERRORS},
)
async def load_model(body: LoadModelRequest, ctx: ContextDep) -> ModelCard:
    served = await ctx.model_service.load(body.name, Path(body.path))
    if body.default:
        ctx.models.set_default(body.name)
        served = next(model for model in ctx.models.served() if model.name == body.name)
    return model_card(served)


@router.post(
    "/models/{name}:reload",
    response_model=ModelCard,
    summary="Rebuild a model from its bundle (or a new path) and swap it in without failing requests.",
    responses={200: _CARD_RESPONSE, **_ADMIN_ERRORS},
)
async def reload_model(
    name: str,
    ctx: ContextDep,
    body: Annotated[ReloadModelRequest | None, Body(openapi_examples=_RELOAD_EXAMPLES)] = None,
) -> ModelCard:
    path = Path(body.path) if body is not None and body.path else None
    return model_card(await ctx.model_service.reload(name, path))


@router.delete(
    "/models/{name}",
    response_model=UnloadResponse,
    summary="Stop serving a model; requests already on it finish. The default model cannot be unloaded.",
    responses={
        200: {"content": {"application/json": {"example": {"unloaded": "lvt", "served": ["base"]}}}},
        **_ADMIN_ERRORS,
    },
)
async def unload_model(name: str, ctx: ContextDep) -> UnloadResponse:
    await ctx.model_service.unload(name)
    return UnloadResponse(unloaded=name, served=ctx.models.names)


@router.post(
    "/models:sync",
    response_model=SyncResponse,
    summary="Re-read the configured bundle list (as SIGHUP does): load new entries, reload changed ones.",
    responses={**_ADMIN_ERRORS},
)
async def sync_models(ctx: ContextDep) -> SyncResponse:
    report = await ctx.model_service.sync()
    return SyncResponse(
        loaded=report.loaded, reloaded=report.reloaded, unchanged=report.unchanged, failed=report.failed
    )
