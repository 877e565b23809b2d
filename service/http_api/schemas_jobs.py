"""Bodies of the jobs API (`/v1/jobs`): one long video embedded in the background, results paged."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.http_api.schemas import ClipWindow, Encoding, ErrorBody, SegmentsSpec, Vector, VideoInput

JobStatusName = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class CreateJobRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "video": {"url": "https://example.com/lecture.mp4"},
                    "segments": {"interval_seconds": 2},
                    "callback_url": "https://example.com/hooks/videoprism",
                }
            ]
        },
    )
    video: VideoInput = Field(description="One video, by `url` or base64 `data` (not `frames`).")
    clip: ClipWindow | None = Field(default=None, description="Only embed this window of the video.")
    segments: SegmentsSpec | None = Field(
        default=None, description="Segment length; without it the whole clip is one segment."
    )
    callback_url: str | None = Field(
        default=None,
        description="POSTed the job's final state when it ends, signed in `X-VideoPrism-Signature` "
        "(`sha256=` + hex HMAC-SHA256 of the body with the server's callback secret). Same URL policy as "
        "video URLs.",
    )


class JobProgress(BaseModel):
    segments_done: int
    segments_total: int | None = Field(description="Known once the video was probed.")


class JobOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f0c9a7e",
                    "status": "running",
                    "progress": {"segments_done": 120, "segments_total": 600},
                    "created_at": 1764940000.0,
                }
            ]
        }
    )
    id: str
    status: JobStatusName
    progress: JobProgress | None = None
    created_at: float | None = Field(default=None, description="Unix time.")
    error: ErrorBody | None = Field(default=None, description="Why the job failed.")
    embedding: Vector | None = Field(
        default=None, description="Whole-video embedding (normalized mean of the segments), once succeeded."
    )


class JobSegmentOut(BaseModel):
    index: int
    start_seconds: float
    end_seconds: float
    embedding: Vector


class JobSegmentsPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": [
                        {"index": 0, "start_seconds": 0.0, "end_seconds": 2.0, "embedding": [0.01, -0.04]}
                    ],
                    "next_offset": 1,
                    "status": "running",
                }
            ]
        }
    )
    data: list[JobSegmentOut]
    next_offset: int | None = Field(description="Offset of the next page; null when this page is the last.")
    status: JobStatusName


__all__ = ["CreateJobRequest", "Encoding", "JobOut", "JobSegmentsPage"]
