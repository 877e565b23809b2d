"""The async entry point used by the front doors: fetch or accept media, then probe and decode it.

One MediaIngestor per process (owned by the app's lifespan, not a module global). It owns a private
temp directory: every file it creates lives there and is removed by `release` or, at the latest, `aclose`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from types import TracebackType

from service.errors import FetchFailedError, PayloadTooLargeError, UrlForbiddenError
from service.media.decode import decode_clip_sync, decode_segments_sync, probe_sync
from service.media.fetcher import UrlFetcher
from service.media.models import FetchedMedia, Frames, MediaInfo, Segment
from service.media.resolver import Resolver, SystemResolver
from service.media.settings import MediaSettings, SamplingSpec


class MediaIngestor:
    """Fetch (SSRF-safe), store, probe and decode untrusted media with bounded concurrency."""

    def __init__(self, settings: MediaSettings, resolver: Resolver | None = None) -> None:
        self.settings = settings
        self._fetcher = UrlFetcher(settings, resolver or SystemResolver())
        self._decodes = asyncio.Semaphore(settings.max_concurrent_decodes)
        parent = str(settings.temp_dir) if settings.temp_dir is not None else None
        self._dir = Path(tempfile.mkdtemp(prefix="vp-media-", dir=parent))
        self._closed = False

    async def __aenter__(self) -> MediaIngestor:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Remove every file this ingestor created. Idempotent."""
        self._closed = True
        await asyncio.to_thread(shutil.rmtree, self._dir, True)

    @property
    def temp_dir(self) -> Path:
        return self._dir

    def _new_path(self) -> Path:
        if self._closed:
            raise RuntimeError("MediaIngestor is closed")
        return self._dir / uuid.uuid4().hex

    def release(self, media: FetchedMedia) -> None:
        """Delete `media`'s file if this ingestor owns it. Safe to call twice."""
        if media.owned and media.path.parent == self._dir:
            with contextlib.suppress(FileNotFoundError):
                media.path.unlink()

    async def fetch_url(self, url: str) -> FetchedMedia:
        """Download `url` under the SSRF policy. Raises the url_*/fetch/download_* ServiceErrors."""
        dest = self._new_path()
        try:
            got = await self._fetcher.download(url, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                dest.unlink()
            raise
        return FetchedMedia(path=dest, sha256=got.sha256, size_bytes=got.size_bytes, source=url, owned=True)

    async def from_bytes(self, data: bytes) -> FetchedMedia:
        """Store uploaded bytes. Raises PayloadTooLargeError above `max_bytes`."""
        if len(data) > self.settings.max_bytes:
            raise PayloadTooLargeError(f"upload exceeds {self.settings.max_bytes} bytes")
        dest = self._new_path()
        try:
            await asyncio.to_thread(dest.write_bytes, data)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                dest.unlink()
            raise
        digest = hashlib.sha256(data).hexdigest()
        return FetchedMedia(path=dest, sha256=digest, size_bytes=len(data), source="bytes", owned=True)

    async def from_local_path(self, path: str | Path) -> FetchedMedia:
        """A file under `settings.local_root` (symlinks resolved first), used in place, never copied.

        Raises UrlForbiddenError when local paths are off or `path` leaves the root, FetchFailedError when
        it is not a readable regular file, PayloadTooLargeError above `max_bytes`.
        """
        return await asyncio.to_thread(self._local, Path(path))

    def _local(self, path: Path) -> FetchedMedia:
        root = self.settings.local_root
        if root is None:
            raise UrlForbiddenError("local paths are disabled")
        real_root = root.resolve(strict=False)
        candidate = path if path.is_absolute() else real_root / path
        real = candidate.resolve(strict=False)
        if os.path.commonpath([real_root, real]) != str(real_root):
            raise UrlForbiddenError("path is outside the allowed root")
        if not real.is_file():
            raise FetchFailedError("no such file")
        size = real.stat().st_size
        if size > self.settings.max_bytes:
            raise PayloadTooLargeError(f"file exceeds {self.settings.max_bytes} bytes")
        digest = hashlib.sha256()
        with real.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return FetchedMedia(
            path=real, sha256=digest.hexdigest(), size_bytes=size, source=str(path), owned=False
        )

    async def probe(self, media: FetchedMedia) -> MediaInfo:
        """Container/stream facts and cap checks, without decoding."""
        async with self._decodes:
            return await asyncio.to_thread(probe_sync, media.path, self.settings)

    async def decode_clip(
        self, media: FetchedMedia, spec: SamplingSpec, info: MediaInfo | None = None
    ) -> Frames:
        """uint8 [T, S, S, 3] RGB, T = spec.num_frames, S = spec.image_size."""
        async with self._decodes:
            return await asyncio.to_thread(decode_clip_sync, media.path, spec, self.settings, info=info)

    async def decode_segments(self, media: FetchedMedia, spec: SamplingSpec) -> list[Segment]:
        """Segments of `spec.segment_s` seconds, each with uint8 [T, S, S, 3] frames."""
        async with self._decodes:
            return await asyncio.to_thread(decode_segments_sync, media.path, spec, self.settings)
