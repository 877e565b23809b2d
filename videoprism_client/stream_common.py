"""Turns per-item results and failures into `StreamResult`s, for the transports that emulate `stream()`
with one request per item (HTTP) as well as the ones that stream natively (gRPC)."""

from __future__ import annotations

from videoprism_client.errors import VideoPrismError
from videoprism_client.types import ItemError, StreamResult, TextResult, VideoResult


def video_as_stream(item_id: str, result: VideoResult) -> StreamResult:
    return StreamResult(
        id=item_id,
        embedding=result.embedding,
        segments=result.segments,
        cached=result.cached,
        error=result.error,
    )


def text_as_stream(item_id: str, result: TextResult) -> StreamResult:
    return StreamResult(id=item_id, embedding=result.embedding, cached=result.cached, error=result.error)


def item_failed(item_id: str, error: VideoPrismError) -> StreamResult:
    # A request-level failure of a one-item request is that item's failure: the stream goes on.
    return StreamResult(id=item_id, embedding=None, error=ItemError(code=error.code, message=error.message))
