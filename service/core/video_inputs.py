"""The shared front half of both video paths (one answer, one stream): sampling key, content hash, cache
lookup and fetch. Each tier is read once per request: the URL map, then the record under the content hash
(read again after a download only when the hash turned out different from the mapped one).

Image items take the same steps and are decoded here to a static clip: the one frame repeated to the
bundle's frame count, which is what a video of that still frame would give."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from service.core.cache.codec import EmbeddingRecord
from service.core.cache.embedding_cache import EmbeddingCache
from service.core.cache.keys import SamplingKey, video_cache_key
from service.core.media_port import FetchedMediaLike, MediaPort
from service.core.metrics import CoreMetrics
from service.core.types import Deadline, ImageBytes, ImageItem, VideoBytes, VideoOptions, VideoUrl
from service.errors import (
    DeadlineExceededError,
    DownloadTooLargeError,
    InvalidRequestError,
    PayloadTooLargeError,
)
from service.tracing import span

T = TypeVar("T")


@dataclass(frozen=True)
class CacheHit:
    record: EmbeddingRecord
    sha256: str


@dataclass(frozen=True)
class ToDecode:
    """Media stored locally and not in the cache; the caller must `release` it."""

    media: FetchedMediaLike
    key: str
    sha256: str


@dataclass(frozen=True)
class DecodedImage:
    """An image not in the cache, decoded to its static clip uint8 [T, S, S, 3]."""

    clip: npt.NDArray[np.uint8]
    key: str
    sha256: str


# An image has no time axis: its one "segment" spans nothing.
STILL_SPAN = (0.0, 0.0)
ImageResolver = Callable[[], Awaitable[CacheHit | DecodedImage]]


class VideoInputs:
    def __init__(
        self,
        media: MediaPort | None,
        cache: EmbeddingCache | None,
        metrics: CoreMetrics,
        *,
        bundle_id: str,
        model_version: str,
        num_frames: int,
        image_size: int,
        resize_mode: str,
        embedding_dim: int,
    ) -> None:
        self._media = media
        self._cache = cache
        self._metrics = metrics
        self._bundle_id = bundle_id
        self._model_version = model_version
        self._num_frames = num_frames
        self._image_size = image_size
        self._resize_mode = resize_mode
        self._dim = embedding_dim
        self.prefix = cache.key_prefix if cache else "vp"

    def sampling(self, options: VideoOptions) -> SamplingKey:
        return SamplingKey(
            self._num_frames,
            self._image_size,
            self._resize_mode,
            options.start_s,
            options.end_s,
            options.segment_interval_s,
        )

    def key(self, sha: str, sampling: SamplingKey) -> str:
        """One key per video and sampling: the record under it always holds every segment (never a list
        cut by the per-request cap), so the answer and the stream share it."""
        return video_cache_key(self.prefix, sha, self._bundle_id, self._model_version, sampling)

    @property
    def media(self) -> MediaPort:
        if self._media is None:
            raise InvalidRequestError("this server takes decoded frames only (no media ingestor configured)")
        return self._media

    async def cached(self, key: str) -> EmbeddingRecord | None:
        if self._cache is None:
            return None
        return await self._cache.get_record(key, bundle_id=self._bundle_id, dim=self._dim)

    async def store(self, key: str, record: EmbeddingRecord) -> None:
        if self._cache is not None:
            await self._cache.set_record(key, record, bundle_id=self._bundle_id)

    async def resolve(
        self, item: VideoUrl | VideoBytes, sampling: SamplingKey, deadline: Deadline | None
    ) -> CacheHit | ToDecode:
        if isinstance(item, VideoBytes):
            sha = await bytes_sha256(item)
            return await self.resolve_bytes(item, sha, self.key(sha, sampling), deadline)
        return await self.resolve_url(item, sampling, deadline)

    async def resolve_bytes(
        self, item: VideoBytes, sha: str, key: str, deadline: Deadline | None
    ) -> CacheHit | ToDecode:
        if (hit := await self.cached(key)) is not None:
            return CacheHit(hit, sha)
        return ToDecode(await before(deadline, self.media.from_bytes(item.data)), key, sha)

    async def resolve_url(
        self, item: VideoUrl, sampling: SamplingKey, deadline: Deadline | None
    ) -> CacheHit | ToDecode:
        return await self._fetch_unless_cached(item.url, lambda sha: self.key(sha, sampling), deadline)

    async def _fetch_unless_cached(
        self,
        url: str,
        key_of: Callable[[str], str],
        deadline: Deadline | None,
        accept: Callable[[FetchedMediaLike], None] = lambda fetched: None,
    ) -> CacheHit | ToDecode:
        """The record under `key_of(content hash)` if the URL map or the downloaded bytes find one, else the
        download; `accept` may refuse the download (it is then released)."""
        media = self.media
        known = await self._cache.content_hash_for_url(url) if self._cache is not None else None
        if known is not None and (hit := await self.cached(key_of(known))) is not None:
            return CacheHit(hit, known)
        started = time.perf_counter()
        fetched = await before(deadline, media.fetch_url(url))
        self._metrics.fetch_finished(time.perf_counter() - started, fetched.size_bytes)
        key = key_of(fetched.sha256)
        try:
            accept(fetched)
            if self._cache is not None:
                await self._cache.remember_url(url, fetched.sha256)
            if fetched.sha256 != known and (hit := await self.cached(key)) is not None:
                await media.release(fetched)
                return CacheHit(hit, fetched.sha256)
        except BaseException:
            await media.release(fetched)
            raise
        return ToDecode(fetched, key, fetched.sha256)

    def image_key(self, sha: str) -> str:
        """Clip windows and segments do not apply to an image. The "image:" tag keeps its record apart from
        a video file with the same bytes, which the video path would decode differently."""
        still = self.sampling(VideoOptions())
        return video_cache_key(self.prefix, f"image:{sha}", self._bundle_id, self._model_version, still)

    async def image_flight(self, item: ImageItem, deadline: Deadline | None) -> tuple[str, ImageResolver]:
        """The single-flight key of `item` and the call that answers it from the cache or decodes it."""
        if isinstance(item, ImageBytes):
            limit = self.media.max_image_bytes
            if len(item.data) > limit:
                raise PayloadTooLargeError(
                    f"the image is {len(item.data)} bytes; the limit is {limit} (VIDEOPRISM_MEDIA_MAX_IMAGE_BYTES)"
                )
            sha = await bytes_sha256(item)
            key = self.image_key(sha)
            return key, lambda: self._image_from_bytes(item, sha, key, deadline)
        return f"{self.prefix}:image-url:{item.url}", lambda: self._image_from_url(item.url, deadline)

    async def _image_from_bytes(
        self, item: ImageBytes, sha: str, key: str, deadline: Deadline | None
    ) -> CacheHit | DecodedImage:
        if (hit := await self.cached(key)) is not None:
            return CacheHit(hit, sha)
        stored = await before(deadline, self.media.from_bytes(item.data))
        return await self._decode_image(stored, key, sha, deadline)

    async def _image_from_url(self, url: str, deadline: Deadline | None) -> CacheHit | DecodedImage:
        limit = self.media.max_image_bytes

        def small_enough(fetched: FetchedMediaLike) -> None:
            if fetched.size_bytes > limit:
                raise DownloadTooLargeError(
                    f"the image is {fetched.size_bytes} bytes; the limit is {limit} (VIDEOPRISM_MEDIA_MAX_IMAGE_BYTES)"
                )

        resolved = await self._fetch_unless_cached(url, self.image_key, deadline, accept=small_enough)
        if isinstance(resolved, CacheHit):
            return resolved
        return await self._decode_image(resolved.media, resolved.key, resolved.sha256, deadline)

    async def _decode_image(
        self, stored: FetchedMediaLike, key: str, sha: str, deadline: Deadline | None
    ) -> DecodedImage:
        """Decodes and releases `stored`."""
        media = self.media
        try:
            started = time.perf_counter()
            with span("decode", **{"image.bytes": stored.size_bytes}):
                decoding = media.decode_image(stored, self._image_size, self._resize_mode)
                frame = await before(deadline, decoding)
            self._metrics.decode_finished(time.perf_counter() - started)
        finally:
            await media.release(stored)
        return DecodedImage(np.repeat(frame[np.newaxis], self._num_frames, axis=0), key, sha)


async def bytes_sha256(item: VideoBytes | ImageBytes) -> str:
    data = item.data
    return await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())


async def before(deadline: Deadline | None, awaitable: Awaitable[T]) -> T:
    """Bounds fetch/decode by the request deadline so a slow origin cannot outlive its caller."""
    if deadline is None:
        return await awaitable
    try:
        return await asyncio.wait_for(awaitable, max(0.0, deadline.remaining()))
    except TimeoutError:
        raise DeadlineExceededError("deadline passed while fetching or decoding the video") from None
