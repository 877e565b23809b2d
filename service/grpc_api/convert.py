"""Proto messages ⇄ core values. No I/O; both unary and streaming RPCs use these."""

from __future__ import annotations

from collections.abc import Callable

from service.core.types import (
    EncoderInfo,
    ImageBytes,
    ImageUrl,
    ModelInfo,
    StreamedSegment,
    TextEmbeddingResult,
    VideoBytes,
    VideoEmbeddingResult,
    VideoItem,
    VideoOptions,
    VideoStreamItem,
    VideoUrl,
)
from service.errors import InvalidRequestError
from service.raw_frames import decoded_frames
from videoprism_proto import embedding_pb2 as pb


def video_item(source: pb.VideoSource, info: Callable[[], ModelInfo], *, where: str = "video") -> VideoItem:
    """`info` is only called for frames, whose shape must match the served bundle."""
    which = source.WhichOneof("source")
    if which == "url":
        return VideoUrl(source.url)
    if which == "data":
        return VideoBytes(source.data)
    if which == "frames":
        raw = source.frames
        return decoded_frames(raw.data, raw.shape, raw.dtype, info(), where=f"{where}.frames")
    if which == "image":
        image = source.image
        kind = image.WhichOneof("source")
        if kind == "url":
            return ImageUrl(image.url)
        if kind == "data":
            return ImageBytes(image.data)
        raise InvalidRequestError(f"{where}.image needs a url or data")
    raise InvalidRequestError("a video needs a url, data, frames or image")


def video_options(options: pb.VideoOptions) -> VideoOptions:
    start = options.clip_start_seconds if options.HasField("clip_start_seconds") else None
    end = options.clip_end_seconds if options.HasField("clip_end_seconds") else None
    interval = options.segment_interval_seconds if options.HasField("segment_interval_seconds") else None
    if start is not None and start < 0:
        raise InvalidRequestError("clip_start_seconds must be >= 0")
    if end is not None and (end <= 0 or (start is not None and end <= start)):
        raise InvalidRequestError("clip_end_seconds must be > 0 and > clip_start_seconds")
    if interval is not None and interval <= 0:
        raise InvalidRequestError("segment_interval_seconds must be > 0")
    return VideoOptions(start_s=start, end_s=end, segment_interval_s=interval)


def _item_error(error: object) -> pb.ItemError:
    code = getattr(error, "code", "internal")
    message = getattr(error, "message", "no embedding")
    return pb.ItemError(code=code, message=message)


def video_embedding(index: int, result: VideoEmbeddingResult, *, with_segments: bool) -> pb.VideoEmbedding:
    out = pb.VideoEmbedding(
        index=index,
        cached=result.cached,
        segments_total=result.segments_total,
        truncated=result.truncated,
    )
    if result.error is not None or result.embedding is None:
        out.error.CopyFrom(_item_error(result.error))
        return out
    out.embedding.extend(result.embedding.tolist())
    if with_segments:
        for seg in result.segments:
            out.segments.add(
                start_seconds=seg.start_s, end_seconds=seg.end_s, embedding=seg.embedding.tolist()
            )
    return out


def streamed(item: VideoStreamItem, info: ModelInfo) -> pb.EmbedVideoSegmentsResponse:
    out = pb.EmbedVideoSegmentsResponse(
        model=info.model_name, dim=info.embedding_dim, segments_total=item.segments_total
    )
    if isinstance(item, StreamedSegment):
        out.segment.CopyFrom(
            pb.StreamedSegment(
                index=item.index,
                start_seconds=item.start_s,
                end_seconds=item.end_s,
                embedding=item.embedding.tolist(),
                cached=item.cached,
            )
        )
    else:
        out.video.CopyFrom(pb.StreamedVideo(embedding=item.embedding.tolist(), cached=item.cached))
    return out


def text_embedding(index: int, result: TextEmbeddingResult) -> pb.TextEmbedding:
    out = pb.TextEmbedding(index=index, cached=result.cached)
    if result.error is not None or result.embedding is None:
        out.error.CopyFrom(_item_error(result.error))
    else:
        out.embedding.extend(result.embedding.tolist())
    return out


def _encoder(info: EncoderInfo) -> pb.EncoderInfo:
    return pb.EncoderInfo(
        runtime=info.runtime,
        provider=info.provider,
        reason=info.reason,
        warmed_batch_sizes=list(info.warmed_batch_sizes),
    )


def model_info(info: ModelInfo) -> pb.GetModelInfoResponse:
    out = pb.GetModelInfoResponse(
        model_name=info.model_name,
        model_version=info.model_version,
        bundle_id=info.bundle_id,
        embedding_dim=info.embedding_dim,
        num_frames=info.num_frames,
        image_size=info.image_size,
        resize_mode=info.resize_mode,
        video=_encoder(info.video),
    )
    if info.text_max_length is not None:
        out.text_max_length = info.text_max_length
    if info.text is not None:
        out.text.CopyFrom(_encoder(info.text))
    return out
