"""What a job is: its request (as stored, so any replica can run it), its state, and one stored segment."""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from service.core.types import VideoBytes, VideoItem, VideoOptions, VideoUrl


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class JobRequest:
    """One video (a URL or the file's bytes), its clip and segment options, and where to say it is done."""

    url: str | None
    data: bytes | None
    options: VideoOptions
    callback_url: str | None = None

    def item(self) -> VideoItem:
        return VideoUrl(self.url) if self.url is not None else VideoBytes(self.data or b"")

    def to_json(self) -> str:
        return json.dumps(
            {
                "url": self.url,
                "data": base64.b64encode(self.data).decode("ascii") if self.data is not None else None,
                "start_s": self.options.start_s,
                "end_s": self.options.end_s,
                "segment_interval_s": self.options.segment_interval_s,
                "callback_url": self.callback_url,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> JobRequest:
        raw = json.loads(text)
        return cls(
            url=raw["url"],
            data=base64.b64decode(raw["data"]) if raw["data"] is not None else None,
            options=VideoOptions(raw["start_s"], raw["end_s"], raw["segment_interval_s"]),
            callback_url=raw["callback_url"],
        )


@dataclass(frozen=True)
class JobError:
    code: str
    message: str


@dataclass(frozen=True)
class JobState:
    id: str
    owner: str  # key_id of the API key that made the job; other keys see 404
    status: JobStatus
    segments_done: int
    segments_total: int | None
    created_at: float
    error: JobError | None = None
    embedding: npt.NDArray[np.float32] | None = None  # the whole video, once succeeded


# start_s, end_s (float64) then the float32 vector: one stored segment.
_SPAN = struct.Struct("<dd")


@dataclass(frozen=True)
class JobSegment:
    index: int
    start_s: float
    end_s: float
    embedding: npt.NDArray[np.float32]

    def encode(self) -> bytes:
        return _SPAN.pack(self.start_s, self.end_s) + np.asarray(self.embedding, dtype="<f4").tobytes()

    @classmethod
    def decode(cls, index: int, value: bytes) -> JobSegment:
        start, end = _SPAN.unpack_from(value)
        vector = np.frombuffer(value, dtype="<f4", offset=_SPAN.size).astype(np.float32)
        return cls(index, start, end, vector)


@dataclass(frozen=True)
class JobSettings:
    """How jobs run on this replica; `redis_url` None keeps them in process."""

    redis_url: str | None
    key_prefix: str
    concurrency: int
    result_ttl_s: float
    visibility_timeout_s: float
    callback_secret: str | None
    callback_timeout_s: float
