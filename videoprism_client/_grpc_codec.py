"""Proto messages ⇄ typed results, and gRPC failures ⇄ `VideoPrismError`. No I/O, shared by the sync and
async gRPC clients."""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np
from google.rpc import error_details_pb2, status_pb2

from videoprism_client.errors import DeadlineExceeded, TransportError, VideoPrismError
from videoprism_client.types import (
    ItemError,
    ModelInfo,
    Segment,
    StreamItem,
    StreamResult,
    TextBatch,
    TextResult,
    Video,
    VideoBatch,
    VideoOptions,
    VideoResult,
)
from videoprism_proto import embedding_pb2 as pb

_STATUS_DETAILS_KEY = "grpc-status-details-bin"


def source(video: Video) -> pb.VideoSource:
    return pb.VideoSource(url=video.url) if video.url is not None else pb.VideoSource(data=video.data or b"")


def options(opts: VideoOptions | None) -> pb.VideoOptions:
    out = pb.VideoOptions()
    if opts is not None:
        if opts.clip_start is not None:
            out.clip_start_seconds = opts.clip_start
        if opts.clip_end is not None:
            out.clip_end_seconds = opts.clip_end
        if opts.segment_seconds is not None:
            out.segment_interval_seconds = opts.segment_seconds
    return out


def stream_request(item: StreamItem) -> pb.StreamEmbedRequest:
    if item.video is not None:
        return pb.StreamEmbedRequest(id=item.id, video=source(item.video), options=options(item.options))
    return pb.StreamEmbedRequest(id=item.id, text=item.text or "")


def _outcome(message: Any) -> dict[str, Any]:
    """The fields every per-item answer carries: `embedding` (None when the item failed), `cached`, `error`."""
    if message.HasField("error"):
        error = ItemError(code=message.error.code, message=message.error.message)
        return {"embedding": None, "cached": message.cached, "error": error}
    embedding = np.asarray(message.embedding, dtype=np.float32) if len(message.embedding) else None
    return {"embedding": embedding, "cached": message.cached, "error": None}


def _segments(items: Any) -> list[Segment]:
    return [
        Segment(start=s.start_seconds, end=s.end_seconds, embedding=np.asarray(s.embedding, dtype=np.float32))
        for s in items
    ]


def video_result(item: pb.VideoEmbedding) -> VideoResult:
    return VideoResult(
        index=item.index,
        segments=_segments(item.segments),
        segments_total=item.segments_total,
        truncated=item.truncated,
        **_outcome(item),
    )


def video_batch(response: pb.EmbedVideoResponse) -> VideoBatch:
    return VideoBatch(
        model=response.model, dim=response.dim, results=[video_result(d) for d in response.data]
    )


def text_batch(response: pb.EmbedTextResponse) -> TextBatch:
    results = [TextResult(index=item.index, **_outcome(item)) for item in response.data]
    return TextBatch(model=response.model, dim=response.dim, results=results)


def stream_result(response: pb.StreamEmbedResponse) -> StreamResult:
    return StreamResult(id=response.id, segments=_segments(response.segments), **_outcome(response))


def model_info(response: pb.GetModelInfoResponse) -> ModelInfo:
    return ModelInfo(
        name=response.model_name,
        version=response.model_version,
        bundle_id=response.bundle_id,
        dim=response.embedding_dim,
        num_frames=response.num_frames,
        image_size=response.image_size,
        text_max_length=response.text_max_length if response.HasField("text_max_length") else None,
    )


def rpc_error(exc: grpc.RpcError, attempt: int) -> VideoPrismError:
    """The stable code from the status's ErrorInfo; when none came (a proxy, a dead connection), a code
    derived from the gRPC status so that unreachable servers are retried like draining ones."""
    status: grpc.StatusCode = exc.code()  # type: ignore[attr-defined]
    message = str(exc.details() or "")  # type: ignore[attr-defined]
    trailing = exc.trailing_metadata() or ()  # type: ignore[attr-defined]
    code: str | None = None
    retry_after: float | None = None
    for key, value in trailing:
        if key == _STATUS_DETAILS_KEY:
            for detail in status_pb2.Status.FromString(value).details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    code = info.reason
        elif key == "retry-after":
            try:
                retry_after = float(value)
            except ValueError:
                retry_after = None
    if code is None:
        if status == grpc.StatusCode.DEADLINE_EXCEEDED:
            return DeadlineExceeded(message or "deadline exceeded", attempts=attempt)
        if status == grpc.StatusCode.UNAVAILABLE:
            return TransportError(message or "server unavailable", attempts=attempt)
        code = "overloaded" if status == grpc.StatusCode.RESOURCE_EXHAUSTED else status.name.lower()
    return VideoPrismError(code, message, status=status.name, retry_after_s=retry_after, attempts=attempt)


def parse_target(target: str) -> tuple[str, bool]:
    """("host:port", use TLS) from "host:port", "grpc://host:port" or "grpcs://host:port"."""
    if target.startswith("grpcs://"):
        return target.removeprefix("grpcs://"), True
    return target.removeprefix("grpc://"), False
