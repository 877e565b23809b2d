"""HTTP clients of the REST API: `HttpClient` (blocking) and `AsyncHttpClient` (asyncio), with the same
methods as the gRPC clients. Every call retries `overloaded`/`draining` answers (and lost connections)
with backoff, honouring Retry-After, within one deadline that covers all attempts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import httpx

from videoprism_client import _http_codec as codec
from videoprism_client import long_video as lv
from videoprism_client._client_base import DEFAULT_TIMEOUT_S, AsyncClientBase, SyncClientBase
from videoprism_client.errors import DeadlineExceeded, TransportError, VideoPrismError
from videoprism_client.long_video import Job, StreamedSegment
from videoprism_client.retry import Deadline, RetryPolicy
from videoprism_client.stream_common import item_failed, text_as_stream, video_as_stream
from videoprism_client.types import (
    ItemError,
    ModelInfo,
    StreamItem,
    StreamResult,
    TextBatch,
    VideoBatch,
    VideoLike,
    VideoOptions,
    as_video,
)


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _attempt_timeout(deadline: Deadline) -> float:
    remaining = deadline.remaining()
    return DEFAULT_TIMEOUT_S if remaining is None else max(0.001, remaining)


def _failure(exc: httpx.HTTPError, deadline: Deadline, attempt: int) -> VideoPrismError:
    if isinstance(exc, httpx.TimeoutException) and deadline.remaining() is not None:
        return DeadlineExceeded(f"no answer before the deadline: {exc!r}", attempts=attempt)
    return TransportError(f"{type(exc).__name__}: {exc}", attempts=attempt)


def _refusal(response: httpx.Response) -> VideoPrismError:
    return codec.http_error(response.status_code, response.content, response.headers.get("retry-after"))


def _model_info(payload: dict[str, Any]) -> ModelInfo:
    card = payload["data"][0]
    return ModelInfo(
        name=str(card["id"]),
        version=str(card.get("version", "")),
        bundle_id=str(card.get("bundle_id", "")),
        dim=int(card["dim"]),
        num_frames=int(card.get("num_frames", 0)),
        image_size=int(card.get("image_size", 0)),
        text_max_length=card.get("text_max_length"),
    )


class HttpClient(SyncClientBase):
    """Blocking client. `timeout_s` is the default deadline of one call, retries included."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(timeout_s, retry)
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=_headers(api_key))

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: Any, timeout_s: float | None) -> Any:
        attempts = self._attempts(timeout_s)
        while True:
            attempt = attempts.begin()
            try:
                response = self._http.request(
                    method, path, json=body, timeout=_attempt_timeout(attempts.deadline)
                )
            except httpx.HTTPError as exc:
                error = _failure(exc, attempts.deadline, attempt)
            else:
                if response.status_code < 400:
                    return response.json()
                error = _refusal(response)
            time.sleep(attempts.wait_after(error))

    def embed_videos(
        self,
        videos: Iterable[VideoLike],
        options: VideoOptions | None = None,
        *,
        timeout_s: float | None = None,
    ) -> VideoBatch:
        body = codec.video_body([as_video(v) for v in videos], options)
        return codec.video_batch(self._call("POST", "/v1/embed/video", body, timeout_s))

    def embed_texts(self, texts: Iterable[str], *, timeout_s: float | None = None) -> TextBatch:
        return codec.text_batch(self._call("POST", "/v1/embed/text", codec.text_body(list(texts)), timeout_s))

    def model_info(self, *, timeout_s: float | None = None) -> ModelInfo:
        return _model_info(self._call("GET", "/v1/models", None, timeout_s))

    def create_job(
        self, video: VideoLike, options: VideoOptions | None = None, *, callback_url: str | None = None
    ) -> Job:
        """Starts embedding one video of any length in the background (`POST /v1/jobs`)."""
        return lv.job(
            self._call("POST", "/v1/jobs", lv.job_body(as_video(video), options, callback_url), None)
        )

    def get_job(self, job_id: str) -> Job:
        return lv.job(self._call("GET", f"/v1/jobs/{job_id}", None, None))

    def cancel_job(self, job_id: str) -> Job:
        return lv.job(self._call("DELETE", f"/v1/jobs/{job_id}", None, None))

    def iter_job_segments(
        self, job_id: str, *, page_size: int = 500, poll_s: float = 0.5
    ) -> Iterator[StreamedSegment]:
        """Every segment of the job in order, waiting for the ones not computed yet; ends when the job
        has succeeded and all were read, raises `VideoPrismError` if it failed or was cancelled."""
        offset = 0
        while True:
            page = self._call(
                "GET", f"/v1/jobs/{job_id}/segments?offset={offset}&limit={page_size}", None, None
            )
            state = self.get_job(job_id) if not page["data"] else None
            for raw in page["data"]:
                yield lv.job_segment(raw, -1)
            offset += len(page["data"])
            if page["next_offset"] is None:
                return
            if state is not None and state.finished and state.status != "succeeded":
                error = state.error or ItemError("cancelled", "the job was cancelled")
                raise VideoPrismError(error.code, error.message)
            if not page["data"]:
                time.sleep(poll_s)

    def _one(self, item: StreamItem) -> StreamResult:
        try:
            if item.video is not None:
                return video_as_stream(item.id, self.embed_videos([item.video], item.options).results[0])
            return text_as_stream(item.id, self.embed_texts([item.text or ""]).results[0])
        except VideoPrismError as error:
            return item_failed(item.id, error)

    def stream(self, items: Iterable[StreamItem], *, concurrency: int = 8) -> Iterator[StreamResult]:
        """Embeds items with up to `concurrency` requests in flight and yields results as they finish.
        A failed item (even after retries) is yielded with its error; the rest go on."""
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="videoprism-stream") as pool:
            pending: set[Future[StreamResult]] = set()
            for item in items:
                if len(pending) >= concurrency:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (f.result() for f in done)
                pending.add(pool.submit(self._one, item))
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in done)


class AsyncHttpClient(AsyncClientBase):
    """asyncio client with the same methods as `HttpClient`, awaited."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        max_connections: int = 64,
    ) -> None:
        super().__init__(timeout_s, retry)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=_headers(api_key), limits=limits
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, body: Any, timeout_s: float | None) -> Any:
        attempts = self._attempts(timeout_s)
        while True:
            attempt = attempts.begin()
            try:
                response = await self._http.request(
                    method, path, json=body, timeout=_attempt_timeout(attempts.deadline)
                )
            except httpx.HTTPError as exc:
                error = _failure(exc, attempts.deadline, attempt)
            else:
                if response.status_code < 400:
                    return response.json()
                error = _refusal(response)
            await asyncio.sleep(attempts.wait_after(error))

    async def embed_videos(
        self,
        videos: Iterable[VideoLike],
        options: VideoOptions | None = None,
        *,
        timeout_s: float | None = None,
    ) -> VideoBatch:
        body = codec.video_body([as_video(v) for v in videos], options)
        return codec.video_batch(await self._call("POST", "/v1/embed/video", body, timeout_s))

    async def embed_texts(self, texts: Iterable[str], *, timeout_s: float | None = None) -> TextBatch:
        body = codec.text_body(list(texts))
        return codec.text_batch(await self._call("POST", "/v1/embed/text", body, timeout_s))

    async def model_info(self, *, timeout_s: float | None = None) -> ModelInfo:
        return _model_info(await self._call("GET", "/v1/models", None, timeout_s))

    async def _one(self, item: StreamItem) -> StreamResult:
        try:
            if item.video is not None:
                batch = await self.embed_videos([item.video], item.options)
                return video_as_stream(item.id, batch.results[0])
            return text_as_stream(item.id, (await self.embed_texts([item.text or ""])).results[0])
        except VideoPrismError as error:
            return item_failed(item.id, error)

    async def stream(
        self, items: AsyncIterable[StreamItem] | Iterable[StreamItem], *, concurrency: int = 8
    ) -> AsyncIterator[StreamResult]:
        """Like `HttpClient.stream`: at most `concurrency` requests in flight, results as they finish."""
        pending: set[asyncio.Task[StreamResult]] = set()
        try:
            async for item in _aiter(items):
                if len(pending) >= concurrency:
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        yield task.result()
                pending.add(asyncio.create_task(self._one(item)))
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    yield task.result()
        finally:
            for task in pending:
                task.cancel()


async def _aiter(items: AsyncIterable[StreamItem] | Iterable[StreamItem]) -> AsyncIterator[StreamItem]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
