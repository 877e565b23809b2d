"""Request and response bodies of the REST API, with the examples the OpenAPI document shows."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

Encoding = Literal["float", "base64"]
# A vector is a list of floats, or with `encoding: "base64"` the base64 of its little-endian float32 bytes.
Vector = list[float] | str


def _unicode_scalars(text: str) -> str:
    # JSON can carry lone surrogates ("\ud800"), which are not text: refuse them here as a bad request rather
    # than let the tokenizer fail on them as an internal error.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text contains lone surrogate code points") from None
    return text


Text = Annotated[str, AfterValidator(_unicode_scalars)]

_EMB: list[Any] = [0.0123, -0.0456, 0.0789]


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable error code.", examples=["fetch_failed"])
    message: str = Field(
        description="Human-readable explanation; not stable.", examples=["origin answered 404"]
    )


class ErrorResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"error": {"code": "overloaded", "message": "video queue is full (256)"}}]
        }
    )
    error: ErrorBody


class RawFramesInput(BaseModel):
    """One clip the client already decoded and sampled to the model's spec (see `GET /v1/models`)."""

    model_config = ConfigDict(extra="forbid")
    data: str = Field(description="base64 of the raw pixels: `shape` uint8 values in C order, no header.")
    shape: list[int] = Field(description="[num_frames, image_size, image_size, 3] of the served model.")
    dtype: str = Field(default="uint8", description="Element type; only `uint8`.")


class ImageInput(BaseModel):
    """A png, jpeg or webp image, embedded as a static clip: its one frame, resized like a video frame,
    repeated to the model's frame count. `clip` and `segments` do not apply (one segment spanning 0 s)."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(
        default=None,
        description="http(s) URL the server downloads (same fetcher and URL policy as videos).",
        examples=["https://example.com/cat.jpg"],
    )
    data: str | None = Field(default=None, description="The image file, base64-encoded.")

    @model_validator(mode="after")
    def _one_source(self) -> ImageInput:
        if (self.url is None) == (self.data is None):
            raise ValueError("an image needs exactly one of 'url' and 'data'")
        return self


class VideoInput(BaseModel):
    """Exactly one of `url`, `data`, `frames` and `image`."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(
        default=None,
        description="http(s) URL the server downloads.",
        examples=["https://example.com/cat.mp4"],
    )
    data: str | None = Field(default=None, description="The video file, base64-encoded.")
    frames: RawFramesInput | None = Field(
        default=None, description="Pre-decoded frames; not decoded again, `clip` and `segments` do not apply."
    )
    image: ImageInput | None = Field(
        default=None,
        description="A still image (png, jpeg, webp) embedded as a static clip; `clip` and `segments` do not apply.",
        examples=[{"url": "https://example.com/cat.jpg"}],
    )

    @model_validator(mode="after")
    def _one_source(self) -> VideoInput:
        if sum(v is not None for v in (self.url, self.data, self.frames, self.image)) != 1:
            raise ValueError("give exactly one of 'url', 'data', 'frames' and 'image'")
        return self


class ClipWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: float | None = Field(default=None, ge=0, description="Clip start, seconds into the video.")
    end: float | None = Field(default=None, gt=0, description="Clip end, seconds into the video.")

    @model_validator(mode="after")
    def _ordered(self) -> ClipWindow:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("'end' must be greater than 'start'")
        return self


class SegmentsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    interval_seconds: float = Field(gt=0, description="Length of each separately embedded segment.")


class EmbedVideoRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"videos": [{"url": "https://example.com/cat.mp4"}], "encoding": "float"},
                {
                    "videos": [{"url": "https://example.com/talk.mp4"}],
                    "clip": {"start": 10, "end": 70},
                    "segments": {"interval_seconds": 8},
                },
                {
                    "videos": [
                        {"image": {"url": "https://example.com/cat.jpg"}},
                        {"image": {"data": "iVBORw0KGgo..."}},
                    ]
                },
            ]
        },
    )
    videos: list[VideoInput] = Field(
        min_length=1, description="The videos to embed (at most the items-per-request limit)."
    )
    clip: ClipWindow | None = Field(default=None, description="Only embed this window of each video.")
    segments: SegmentsSpec | None = Field(default=None, description="Also embed fixed-length segments.")
    encoding: Encoding = Field(default="float", description="How vectors are written in the response.")
    model: str | None = Field(
        default=None, description="Served model to use (an `id` of `GET /v1/models`); unset: the default."
    )


class SegmentOut(BaseModel):
    start: float
    end: float
    embedding: Vector


class VideoEmbeddingOut(BaseModel):
    index: int = Field(description="Position of the input in the request.")
    embedding: Vector | None = Field(default=None, description="L2-normalized embedding; absent on error.")
    segments: list[SegmentOut] | None = Field(default=None, description="Only when segments were requested.")
    segments_total: int | None = Field(
        default=None, description="Segments the video holds at the requested interval (when segmented)."
    )
    truncated: bool | None = Field(
        default=None,
        description="True when the per-request segment cap kept fewer than `segments_total`; "
        "use `POST /v1/jobs` or gRPC `EmbedVideoSegments` for the rest.",
    )
    cached: bool = Field(default=False, description="Served from the cache.")
    error: ErrorBody | None = Field(
        default=None, description="Why this item failed; the others are unaffected."
    )


class EmbedVideoResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "videoprism-demo",
                    "dim": 3,
                    "data": [
                        {"index": 0, "embedding": _EMB, "cached": False},
                        {
                            "index": 1,
                            "cached": False,
                            "error": {"code": "fetch_failed", "message": "origin answered 404"},
                        },
                    ],
                }
            ]
        }
    )
    model: str
    dim: int
    data: list[VideoEmbeddingOut]


class EmbedTextRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"texts": ["a cat jumps onto a table", "a person cooking"]}]},
    )
    texts: list[Text] = Field(
        min_length=1,
        description="Texts to embed. Longer than the model's token limit: the first tokens are kept (head truncation).",
    )
    encoding: Encoding = "float"
    model: str | None = Field(
        default=None, description="Served model to use (an `id` of `GET /v1/models`); unset: the default."
    )


class TextEmbeddingOut(BaseModel):
    index: int
    embedding: Vector | None = None
    cached: bool = False
    error: ErrorBody | None = None


class EmbedTextResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "videoprism-demo",
                    "dim": 3,
                    "data": [{"index": 0, "embedding": _EMB, "cached": True}],
                }
            ]
        }
    )
    model: str
    dim: int
    data: list[TextEmbeddingOut]


class StatusResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})
    status: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "invalid_request"},
    401: {"model": ErrorResponse, "description": "unauthenticated"},
    413: {"model": ErrorResponse, "description": "payload_too_large"},
    429: {"model": ErrorResponse, "description": "overloaded (see Retry-After)"},
    503: {"model": ErrorResponse, "description": "not_ready or draining"},
}
