"""Text embedding routes: the native shape and the OpenAI-compatible `/v1/embeddings`."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from service.errors import InvalidRequestError
from service.http_api.deps import ContextDep, documented_auth, encode_vector
from service.http_api.schemas import (
    ERROR_RESPONSES,
    EmbedTextRequest,
    EmbedTextResponse,
    ErrorBody,
    OpenAIEmbedding,
    OpenAIEmbeddingsRequest,
    OpenAIEmbeddingsResponse,
    OpenAIUsage,
    TextEmbeddingOut,
)

router = APIRouter(dependencies=[Depends(documented_auth)])


@router.post(
    "/v1/embed/text",
    response_model=EmbedTextResponse,
    response_model_exclude_none=True,
    tags=["text"],
    summary="Embed texts into the video embedding space.",
    responses=ERROR_RESPONSES,
)
async def embed_text(body: EmbedTextRequest, ctx: ContextDep) -> EmbedTextResponse:
    results = await ctx.embed_texts(body.texts, api="http")
    info = ctx.core.model_info()
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
    return EmbedTextResponse(model=info.model_name, dim=info.embedding_dim, data=data)


@router.post(
    "/v1/embeddings",
    response_model=OpenAIEmbeddingsResponse,
    tags=["openai"],
    summary="OpenAI-compatible text embeddings: point an OpenAI client's base_url at /v1.",
    responses=ERROR_RESPONSES,
)
async def openai_embeddings(body: OpenAIEmbeddingsRequest, ctx: ContextDep) -> OpenAIEmbeddingsResponse:
    texts = [body.input] if isinstance(body.input, str) else body.input
    info = ctx.core.model_info()
    if body.dimensions is not None and body.dimensions != info.embedding_dim:
        raise InvalidRequestError(f"this model only produces {info.embedding_dim} dimensions")
    results = await ctx.embed_texts(texts, api="openai")
    data = []
    tokens = 0
    for index, result in enumerate(results):
        # The OpenAI shape has no per-item error, so one failed text fails the request with its code.
        if result.error is not None:
            raise result.error
        assert result.embedding is not None
        tokens += result.num_tokens
        data.append(
            OpenAIEmbedding(index=index, embedding=encode_vector(result.embedding, body.encoding_format))
        )
    return OpenAIEmbeddingsResponse(
        model=info.model_name, data=data, usage=OpenAIUsage(prompt_tokens=tokens, total_tokens=tokens)
    )
