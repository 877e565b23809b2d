"""Text embedding routes: the native shape, and the OpenAI-compatible `/v1/embeddings` and
`/v1/models/{id}` (OpenAI's error shape, token-id inputs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from service.core import InferenceCore
from service.errors import InvalidRequestError, ModelNotFoundError
from service.http_api.deps import ContextDep, documented_auth, encode_vector
from service.http_api.openai_errors import OpenAIParamError, OpenAIRoute
from service.http_api.routes_ops import list_models
from service.http_api.schemas import (
    ERROR_RESPONSES,
    EmbedTextRequest,
    EmbedTextResponse,
    ErrorBody,
    TextEmbeddingOut,
)
from service.http_api.schemas_models import ModelCard, ModelsResponse
from service.http_api.schemas_openai import (
    OpenAIEmbedding,
    OpenAIEmbeddingsRequest,
    OpenAIEmbeddingsResponse,
    OpenAIErrorResponse,
    OpenAIUsage,
)

router = APIRouter(dependencies=[Depends(documented_auth)])
openai_router = APIRouter(route_class=OpenAIRoute)

# The card /v1/models shows as its example, so both routes document the same model.
_CARD_EXAMPLE: dict[str, Any] = ModelsResponse.model_json_schema()["examples"][0]["data"][0]

OPENAI_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": OpenAIErrorResponse, "description": entry["description"]}
    for status, entry in ERROR_RESPONSES.items()
}


@router.post(
    "/v1/embed/text",
    response_model=EmbedTextResponse,
    response_model_exclude_none=True,
    tags=["text"],
    summary="Embed texts into the video embedding space.",
    responses=ERROR_RESPONSES,
)
async def embed_text(body: EmbedTextRequest, ctx: ContextDep) -> EmbedTextResponse:
    with ctx.lease(body.model) as model:
        results = await ctx.embed_texts(body.texts, api="http", core=model.core)
        info = model.core.model_info()
    data = []
    for index, result in enumerate(results):
        if result.error is not None or result.embedding is None:
            code, message = (
                (result.error.code, result.error.message) if result.error else ("internal", "no embedding")
            )
            data.append(
                TextEmbeddingOut(
                    index=index, cached=result.cached, error=ErrorBody(code=code, message=message)
                )
            )
        else:
            data.append(
                TextEmbeddingOut(
                    index=index,
                    embedding=encode_vector(result.embedding, body.encoding),
                    cached=result.cached,
                )
            )
    return EmbedTextResponse(model=model.name, dim=info.embedding_dim, data=data)


@openai_router.post(
    "/v1/embeddings",
    response_model=OpenAIEmbeddingsResponse,
    tags=["openai"],
    summary="OpenAI-compatible text embeddings: point an OpenAI client's base_url at /v1.",
    responses=OPENAI_ERROR_RESPONSES,
)
async def openai_embeddings(body: OpenAIEmbeddingsRequest, ctx: ContextDep) -> OpenAIEmbeddingsResponse:
    # With one model served any name selects it: OpenAI clients send their own model names.
    try:
        lease = ctx.lease(body.model, any_name_if_one=True)
    except ModelNotFoundError as error:
        raise OpenAIParamError(error, "model") from None
    with lease as model:
        return await _openai_embeddings(body, ctx, model.name, model.core)


async def _openai_embeddings(
    body: OpenAIEmbeddingsRequest, ctx: ContextDep, name: str, core: InferenceCore
) -> OpenAIEmbeddingsResponse:
    info = core.model_info()
    if body.dimensions is not None and body.dimensions != info.embedding_dim:
        raise OpenAIParamError(
            InvalidRequestError(f"this model only produces {info.embedding_dim} dimensions"), "dimensions"
        )
    texts = _input_texts(body.input, core)
    results = await ctx.embed_texts(texts, api="openai", core=core)
    data = []
    tokens = 0
    for index, result in enumerate(results):
        # The OpenAI shape has no per-item error, so one failed text fails the request with its code.
        if result.error is not None:
            raise OpenAIParamError(result.error, "input")
        assert result.embedding is not None
        tokens += result.num_tokens
        data.append(
            OpenAIEmbedding(index=index, embedding=encode_vector(result.embedding, body.encoding_format))
        )
    return OpenAIEmbeddingsResponse(
        model=name, data=data, usage=OpenAIUsage(prompt_tokens=tokens, total_tokens=tokens)
    )


def _input_texts(value: str | list[str] | list[int] | list[list[int]], core: InferenceCore) -> list[str]:
    """Texts of every input shape OpenAI accepts; token ids become the text they spell in this vocabulary."""
    if isinstance(value, str):
        return [value]
    if not value:
        raise OpenAIParamError(InvalidRequestError("input is empty; send at least one text"), "input")
    # The request model admits only homogeneous lists, so at most one of these fills up.
    texts: list[str] = []
    flat: list[int] = []
    rows: list[list[int]] = []
    for item in value:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, int):
            flat.append(item)
        else:
            rows.append(list(item))
    if texts:
        return texts
    try:
        return core.decode_token_ids([flat] if flat else rows)
    except InvalidRequestError as error:
        raise OpenAIParamError(error, "input") from None


@openai_router.get(
    "/v1/models/{model_id}",
    response_model=ModelCard,
    tags=["openai"],
    summary="One served model's card (OpenAI's models.retrieve); unknown ids are model_not_found (404).",
    responses={
        200: {"content": {"application/json": {"example": _CARD_EXAMPLE}}},
        **OPENAI_ERROR_RESPONSES,
        404: {"model": OpenAIErrorResponse, "description": "model_not_found"},
    },
)
async def retrieve_model(model_id: str, ctx: ContextDep) -> ModelCard:
    served = await list_models(ctx)
    for card in served.data:
        if card.id == model_id:
            return card
    known = ", ".join(card.id for card in served.data)
    raise OpenAIParamError(
        ModelNotFoundError(f"model {model_id!r} is not served here; served models: {known}"), "model"
    )


router.include_router(openai_router)
