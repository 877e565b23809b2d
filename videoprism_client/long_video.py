"""Types of the long-video paths: the segment stream (`GrpcClient.embed_video_segments`) and background
jobs (`HttpClient.create_job` and friends), plus their decoding from the wire. No I/O."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np

from videoprism_client.types import ItemError, Vector, Video, VideoOptions
from videoprism_proto import embedding_pb2 as pb


@dataclass(frozen=True)
class StreamedSegment:
    """One segment of a stream, in order; `total` is how many the stream holds (known from the first)."""

    index: int
    start: float
    end: float
    embedding: Vector
    cached: bool
    total: int


@dataclass(frozen=True)
class StreamedVideo:
    """The last item of a stream: the whole-video embedding (normalized mean of the segments)."""

    embedding: Vector
    cached: bool
    total: int


@dataclass(frozen=True)
class Job:
    id: str
    status: str  # queued | running | succeeded | failed | cancelled
    segments_done: int = 0
    segments_total: int | None = None
    error: ItemError | None = None
    embedding: Vector | None = None  # once succeeded

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")


def streamed(message: pb.EmbedVideoSegmentsResponse) -> StreamedSegment | StreamedVideo:
    if message.WhichOneof("result") == "segment":
        s = message.segment
        vector = np.asarray(s.embedding, dtype=np.float32)
        return StreamedSegment(
            s.index, s.start_seconds, s.end_seconds, vector, s.cached, message.segments_total
        )
    video = message.video
    return StreamedVideo(np.asarray(video.embedding, dtype=np.float32), video.cached, message.segments_total)


def job_body(video: Video, options: VideoOptions | None, callback_url: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"video": {"url": video.url} if video.url is not None else {"data": _b64(video)}}
    if options is not None:
        if options.clip_start is not None or options.clip_end is not None:
            body["clip"] = {"start": options.clip_start, "end": options.clip_end}
        if options.segment_seconds is not None:
            body["segments"] = {"interval_seconds": options.segment_seconds}
    if callback_url is not None:
        body["callback_url"] = callback_url
    return body


def _b64(video: Video) -> str:
    return base64.b64encode(video.data or b"").decode("ascii")


def job(payload: dict[str, Any]) -> Job:
    progress = payload.get("progress") or {}
    error = payload.get("error")
    embedding = payload.get("embedding")
    return Job(
        id=str(payload["id"]),
        status=str(payload["status"]),
        segments_done=int(progress.get("segments_done", 0)),
        segments_total=progress.get("segments_total"),
        error=ItemError(str(error["code"]), str(error["message"])) if error else None,
        embedding=np.asarray(embedding, dtype=np.float32) if embedding is not None else None,
    )


def job_segment(raw: dict[str, Any], total: int) -> StreamedSegment:
    return StreamedSegment(
        int(raw["index"]),
        float(raw["start_seconds"]),
        float(raw["end_seconds"]),
        np.asarray(raw["embedding"], dtype=np.float32),
        False,
        total,
    )
