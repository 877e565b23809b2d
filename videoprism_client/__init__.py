"""Python SDK of the VideoPrism embedding service: blocking and asyncio clients over HTTP and gRPC with
the same methods (`embed_videos`, `embed_texts`, `stream`, `model_info`), retries with backoff on
`overloaded`/`draining` honouring Retry-After, deadlines, typed results and errors. Long videos: the
blocking `GrpcClient.embed_video_segments` (a segment stream) and `HttpClient.create_job` / `get_job` /
`iter_job_segments` / `cancel_job` (background jobs).

Importing this package needs only httpx, grpcio, protobuf, googleapis-common-protos and numpy (the
`client` extra), never the server's dependencies.
"""

from __future__ import annotations

from videoprism_client.errors import DeadlineExceeded, TransportError, VideoPrismError
from videoprism_client.factory import AnyAsyncClient, AnyClient, connect, connect_async
from videoprism_client.grpc_client import AsyncGrpcClient, GrpcClient
from videoprism_client.http_client import AsyncHttpClient, HttpClient
from videoprism_client.long_video import Job, StreamedSegment, StreamedVideo
from videoprism_client.retry import NO_RETRY, RetryPolicy
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

__all__ = [
    "NO_RETRY",
    "AnyAsyncClient",
    "AnyClient",
    "AsyncGrpcClient",
    "AsyncHttpClient",
    "DeadlineExceeded",
    "GrpcClient",
    "HttpClient",
    "ItemError",
    "Job",
    "ModelInfo",
    "RetryPolicy",
    "Segment",
    "StreamItem",
    "StreamResult",
    "StreamedSegment",
    "StreamedVideo",
    "TextBatch",
    "TextResult",
    "TransportError",
    "Video",
    "VideoBatch",
    "VideoOptions",
    "VideoPrismError",
    "VideoResult",
    "connect",
    "connect_async",
]
