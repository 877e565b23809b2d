"""Video embedding routes: JSON (URLs, base64 bytes or pre-decoded frames) and multipart upload; both answer
the same shape."""

from __future__ import annotations

import binascii
from typing import Annotated

import pybase64
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile

from service.core.model_registry import Lease
from service.core.types import (
    ImageBytes,
    ImageUrl,
    VideoBytes,
    VideoEmbeddingResult,
    VideoItem,
    VideoOptions,
    VideoUrl,
)
from service.errors import InvalidRequestError, PayloadTooLargeError
from service.http_api.deps import ContextDep, documented_auth, encode_vector
from service.http_api.disconnect import ClientWatch
from service.http_api.schemas import (
    ERROR_RESPONSES,
    EmbedVideoRequest,
    EmbedVideoResponse,
    ErrorBody,
    SegmentOut,
    VideoEmbeddingOut,
)
from service.media.image_decode import sniff_image
from service.raw_frames import decoded_frames

router = APIRouter(tags=["video"], dependencies=[Depends(documented_auth)])


def to_response(
    model: str, dim: int, results: list[VideoEmbeddingResult], encoding: str, *, with_segments: bool
) -> EmbedVideoResponse:
    data = []
    for index, result in enumerate(results):
        if result.error is not None or result.embedding is None:
            error = result.error
            body = (
                ErrorBody(code=error.code, message=error.message)
                if error
                else ErrorBody(code="internal", message="no embedding")
            )
            data.append(VideoEmbeddingOut(index=index, cached=result.cached, error=body))
            continue
        segments = None
        if with_segments:
            segments = [
                SegmentOut(start=s.start_s, end=s.end_s, embedding=encode_vector(s.embedding, encoding))
                for s in result.segments
            ]
        data.append(
            VideoEmbeddingOut(
                index=index,
                embedding=encode_vector(result.embedding, encoding),
                segments=segments,
                segments_total=result.segments_total if with_segments else None,
                truncated=result.truncated if with_segments else None,
                cached=result.cached,
            )
        )
    return EmbedVideoResponse(model=model, dim=dim, data=data)


def _b64(text: str, where: str) -> bytes:
    try:
        return pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestError(f"{where} is not valid base64") from None


async def _embed(
    request: Request,
    ctx: ContextDep,
    model: Lease,
    items: list[VideoItem],
    options: VideoOptions,
    encoding: str,
) -> EmbedVideoResponse:
    async with ClientWatch(request):
        results = await ctx.embed_videos(items, options, api="http", core=model.core)
    info = model.core.model_info()
    with_segments = options.segment_interval_s is not None
    return to_response(model.name, info.embedding_dim, results, encoding, with_segments=with_segments)


@router.post(
    "/v1/embed/video",
    response_model=EmbedVideoResponse,
    response_model_exclude_none=True,
    summary="Embed videos given by URL, base64 bytes or pre-decoded frames, and images as static clips.",
    responses=ERROR_RESPONSES,
)
async def embed_video(body: EmbedVideoRequest, ctx: ContextDep, request: Request) -> EmbedVideoResponse:
    options = VideoOptions(
        start_s=body.clip.start if body.clip else None,
        end_s=body.clip.end if body.clip else None,
        segment_interval_s=body.segments.interval_seconds if body.segments else None,
    )
    with ctx.lease(body.model) as model:
        return await _embed(request, ctx, model, _json_items(body, model), options, body.encoding)


def _json_items(body: EmbedVideoRequest, model: Lease) -> list[VideoItem]:
    items: list[VideoItem] = []
    for index, video in enumerate(body.videos):
        if video.url is not None:
            items.append(VideoUrl(video.url))
        elif video.frames is not None:
            raw = video.frames
            where = f"videos[{index}].frames"
            pixels = _b64(raw.data, f"{where}.data")
            items.append(decoded_frames(pixels, raw.shape, raw.dtype, model.core.model_info(), where=where))
        elif video.image is not None:
            image = video.image
            if image.url is not None:
                items.append(ImageUrl(image.url))
            else:
                items.append(ImageBytes(_b64(image.data or "", f"videos[{index}].image.data")))
        else:
            items.append(VideoBytes(_b64(video.data or "", f"videos[{index}].data")))
    return items


@router.post(
    "/v1/embed/video/upload",
    response_model=EmbedVideoResponse,
    response_model_exclude_none=True,
    summary="Embed uploaded video or image files (multipart/form-data, field `files`, repeatable).",
    responses=ERROR_RESPONSES,
)
async def upload_video(
    ctx: ContextDep,
    request: Request,
    files: Annotated[
        list[UploadFile],
        File(description="One or more video files; png, jpeg and webp images are embedded as static clips."),
    ],
    clip_start: Annotated[float | None, Form(ge=0, description="Clip start, seconds.")] = None,
    clip_end: Annotated[float | None, Form(gt=0, description="Clip end, seconds.")] = None,
    segment_interval_seconds: Annotated[
        float | None, Form(gt=0, description="Segment length, seconds.")
    ] = None,
    encoding: Annotated[str, Form(pattern="^(float|base64)$", description="float or base64.")] = "float",
    model: Annotated[str | None, Form(description="Served model to use; unset: the default.")] = None,
) -> EmbedVideoResponse:
    if clip_start is not None and clip_end is not None and clip_end <= clip_start:
        raise InvalidRequestError("clip_end must be greater than clip_start")
    ctx.check_video_count(len(files))
    items: list[VideoItem] = []
    for upload in files:
        data = await upload.read(ctx.settings.max_upload_bytes + 1)
        if len(data) > ctx.settings.max_upload_bytes:
            raise PayloadTooLargeError(
                f"an uploaded file is larger than {ctx.settings.max_upload_bytes} bytes"
            )
        # A part has no room to say "image": png, jpeg and webp files are told apart by their signature.
        items.append(ImageBytes(data) if sniff_image(data) is not None else VideoBytes(data))
    options = VideoOptions(start_s=clip_start, end_s=clip_end, segment_interval_s=segment_interval_seconds)
    with ctx.lease(model) as leased:
        return await _embed(request, ctx, leased, items, options, encoding)
