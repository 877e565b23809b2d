"""The shared front half of both video paths (one answer, one stream): sampling key, content hash, cache
lookup and fetch. Each tier is read once per request: the URL map, then the record under the content hash
(read again after a download only when the hash turned out different from the mapped one)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from service.core.cache.codec import EmbeddingRecord
from service.core.cache.embedding_cache import EmbeddingCache
from service.core.cache.keys import SamplingKey, video_cache_key
from service.core.media_port import ClipRequest, FetchedMediaLike, MediaPort
from service.core.metrics import CoreMetrics
from service.core.types import Deadline, VideoBytes, VideoOptions, VideoUrl
from service.errors import DeadlineExceededError, InvalidRequestError

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

    @staticmethod
    def clip_request(sampling: SamplingKey) -> ClipRequest:
        return ClipRequest(
            sampling.num_frames,
            sampling.image_size,
            sampling.resize_mode,
            sampling.start_s,
            sampling.end_s,
            sampling.segment_interval_s,
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
        media = self.media
        known = await self._cache.content_hash_for_url(item.url) if self._cache is not None else None
        if known is not None and (hit := await self.cached(self.key(known, sampling))) is not None:
            return CacheHit(hit, known)
        started = time.perf_counter()
        fetched = await before(deadline, media.fetch_url(item.url))
        self._metrics.fetch_finished(time.perf_counter() - started, fetched.size_bytes)
        key = self.key(fetched.sha256, sampling)
        try:
            if self._cache is not None:
                await self._cache.remember_url(item.url, fetched.sha256)
            if fetched.sha256 != known and (hit := await self.cached(key)) is not None:
                await media.release(fetched)
                return CacheHit(hit, fetched.sha256)
        except BaseException:
            await media.release(fetched)
            raise
        return ToDecode(fetched, key, fetched.sha256)


async def bytes_sha256(item: VideoBytes) -> str:
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
