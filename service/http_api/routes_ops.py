"""Operational routes: liveness, readiness, Prometheus metrics, and the served model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.core.model_registry import ServedModel
from service.core.types import EncoderInfo
from service.errors import DrainingError, NotReadyError
from service.http_api.deps import ContextDep, documented_auth
from service.http_api.errors import error_response
from service.http_api.schemas import ErrorResponse, StatusResponse
from service.http_api.schemas_models import EncoderInfoOut, ModelCard, ModelsResponse

router = APIRouter()
# Served by the main listener only while no operations port is configured, else by the ops listener.
metrics_router = APIRouter()

_NOT_READY_EXAMPLE: dict[str, Any] = {
    "description": "Loading or draining.",
    "model": ErrorResponse,
    "content": {
        "application/json": {"example": {"error": {"code": "draining", "message": "server is shutting down"}}}
    },
}


@router.get(
    "/healthz",
    response_model=StatusResponse,
    tags=["ops"],
    summary="Liveness: the process serves requests; depends on nothing external.",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def healthz() -> StatusResponse:
    return StatusResponse(status="ok")


@router.get(
    "/readyz",
    response_model=StatusResponse,
    tags=["ops"],
    summary="Readiness: the model is loaded and warmed up, and the server is not draining.",
    responses={
        200: {"content": {"application/json": {"example": {"status": "ready"}}}},
        503: _NOT_READY_EXAMPLE,
    },
)
async def readyz(ctx: ContextDep) -> Any:
    if ctx.ready:
        return StatusResponse(status="ready")
    error = (
        DrainingError("server is shutting down") if ctx.draining else NotReadyError("model is still loading")
    )
    return error_response(error)


@metrics_router.get(
    "/metrics",
    tags=["ops"],
    summary="Prometheus metrics in the text exposition format.",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/plain": {
                    "example": 'videoprism_requests_total{api="http",method="embed_texts",code="ok"} 3.0\n'
                }
            }
        }
    },
)
async def metrics(ctx: ContextDep) -> Response:
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _encoder(info: EncoderInfo) -> EncoderInfoOut:
    return EncoderInfoOut(
        runtime=info.runtime,
        provider=info.provider,
        reason=info.reason,
        warmed_batch_sizes=list(info.warmed_batch_sizes),
    )


def model_card(served: ServedModel) -> ModelCard:
    info = served.core.model_info()
    return ModelCard(
        id=served.name,
        model_name=info.model_name,
        default=served.default,
        version=info.model_version,
        bundle_id=info.bundle_id,
        dim=info.embedding_dim,
        num_frames=info.num_frames,
        image_size=info.image_size,
        resize_mode=info.resize_mode,
        text_max_length=info.text_max_length,
        video=_encoder(info.video),
        text=_encoder(info.text) if info.text is not None else None,
    )


@router.get(
    "/v1/models",
    response_model=ModelsResponse,
    tags=["models"],
    summary="The served models: name, dimensions, frames, bundle id, which one is the default, and which "
    "runtime runs each encoder and why.",
    dependencies=[Depends(documented_auth)],
    responses={503: _NOT_READY_EXAMPLE},
)
async def list_models(ctx: ContextDep) -> ModelsResponse:
    _ = ctx.core  # not_ready while loading, draining once stopped
    return ModelsResponse(data=[model_card(served) for served in ctx.models.served()])
