"""JSON bodies of the REST API ⇄ typed results, and HTTP failures ⇄ `VideoPrismError`. No I/O, so the
sync and async HTTP clients share it."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from videoprism_client.errors import VideoPrismError
from videoprism_client.types import (
    ItemError,
    Segment,
    TextBatch,
    TextResult,
    Vector,
    Video,
    VideoBatch,
    VideoOptions,
    VideoResult,
)

# Vectors travel as base64 float32: a quarter of the JSON size of decimal floats, and exact.
ENCODING = "base64"


def video_body(videos: list[Video], options: VideoOptions | None) -> dict[str, Any]:
    body: dict[str, Any] = {"videos": [_video(v) for v in videos], "encoding": ENCODING}
    if options is not None:
        if options.clip_start is not None or options.clip_end is not None:
            body["clip"] = {"start": options.clip_start, "end": options.clip_end}
        if options.segment_seconds is not None:
            body["segments"] = {"interval_seconds": options.segment_seconds}
    return body


def _video(video: Video) -> dict[str, str]:
    if video.url is not None:
        return {"url": video.url}
    return {"data": base64.b64encode(video.data or b"").decode("ascii")}


def text_body(texts: list[str]) -> dict[str, Any]:
    return {"texts": texts, "encoding": ENCODING}


def _vector(value: Any) -> Vector:
    if isinstance(value, str):
        return np.frombuffer(base64.b64decode(value), dtype="<f4").astype(np.float32)
    return np.asarray(value, dtype=np.float32)


def _item_error(raw: Any) -> ItemError | None:
    if not raw:
        return None
    return ItemError(code=str(raw.get("code", "internal")), message=str(raw.get("message", "")))


def video_batch(payload: dict[str, Any]) -> VideoBatch:
    results = []
    for item in payload["data"]:
        embedding = item.get("embedding")
        segments = [
            Segment(start=float(s["start"]), end=float(s["end"]), embedding=_vector(s["embedding"]))
            for s in item.get("segments") or ()
        ]
        results.append(
            VideoResult(
                index=int(item["index"]),
                embedding=None if embedding is None else _vector(embedding),
                segments=segments,
                cached=bool(item.get("cached", False)),
                error=_item_error(item.get("error")),
                segments_total=int(item.get("segments_total") or 0),
                truncated=bool(item.get("truncated", False)),
            )
        )
    return VideoBatch(model=str(payload["model"]), dim=int(payload["dim"]), results=results)


def text_batch(payload: dict[str, Any]) -> TextBatch:
    results = [
        TextResult(
            index=int(item["index"]),
            embedding=None if item.get("embedding") is None else _vector(item["embedding"]),
            cached=bool(item.get("cached", False)),
            error=_item_error(item.get("error")),
        )
        for item in payload["data"]
    ]
    return TextBatch(model=str(payload["model"]), dim=int(payload["dim"]), results=results)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date; the backoff schedule applies instead


def http_error(status: int, body: bytes, retry_after: str | None) -> VideoPrismError:
    """The service's `{"error": {"code", "message"}}`, or a code guessed from the status when something
    else (a proxy, a load balancer) answered."""
    import json

    code, message = "", body[:200].decode("utf-8", "replace")
    try:
        error = json.loads(body)["error"]
        code, message = str(error["code"]), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError):
        pass
    if not code:
        code = {429: "overloaded", 502: "unavailable", 503: "unavailable", 504: "deadline_exceeded"}.get(
            status, "internal" if status >= 500 else "invalid_request"
        )
    return VideoPrismError(code, message, status=status, retry_after_s=_retry_after(retry_after))
