"""Bodies of the OpenAI-compatible routes, in OpenAI's own shapes (`/v1/embeddings` and its errors)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from service.http_api.schemas import Encoding, Text, Vector

_EMB: list[Any] = [0.0123, -0.0456, 0.0789]  # the examples' vector


class OpenAIEmbeddingsRequest(BaseModel):
    """The OpenAI embeddings request; `model` selects a served model (any name while only one is served)."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {"model": "videoprism-demo", "input": ["a dog on a skateboard"], "encoding_format": "float"}
            ]
        },
    )
    input: Text | list[Text] | list[StrictInt] | list[list[StrictInt]] = Field(
        description=(
            "One text, a list of texts, one list of token ids or a list of token-id lists. Token ids are "
            "read in the served bundle's SentencePiece vocabulary (ids outside it are `invalid_request`)."
        )
    )
    model: str = Field(
        default="",
        description="Served model to use (an `id` of `GET /v1/models`); with one model served any name selects it.",
    )
    encoding_format: Encoding = "float"
    dimensions: int | None = Field(default=None, description="Must equal the model's dimension if given.")
    user: str | None = None


class OpenAIEmbedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: Vector


class OpenAIUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class OpenAIEmbeddingsResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "list",
                    "model": "videoprism-demo",
                    "data": [{"object": "embedding", "index": 0, "embedding": _EMB}],
                    "usage": {"prompt_tokens": 6, "total_tokens": 6},
                }
            ]
        }
    )
    object: Literal["list"] = "list"
    model: str
    data: list[OpenAIEmbedding]
    usage: OpenAIUsage


class OpenAIErrorBody(BaseModel):
    message: str = Field(description="Human-readable explanation; not stable.")
    type: str = Field(description="OpenAI's error family, e.g. invalid_request_error.")
    param: str | None = Field(default=None, description="The request field at fault, when one is.")
    code: str = Field(description="This service's stable error code (docs/api.md).")


class OpenAIErrorResponse(BaseModel):
    """The error body of the OpenAI-compatible routes, in OpenAI's own shape."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "message": "token id 99999 at position 2 is outside this model's vocabulary",
                        "type": "invalid_request_error",
                        "param": "input",
                        "code": "invalid_request",
                    }
                }
            ]
        }
    )
    error: OpenAIErrorBody
