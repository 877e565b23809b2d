"""The async entry point used by the front doors: fetch or accept media, then probe and decode it.

One MediaIngestor per process (owned by the app's lifespan, not a module global). It owns a private
spool directory: every file it creates lives there and is removed by `release` or, at the latest, `aclose`.
Long videos stream: `open_media` probes, `plan_segment_spans` says how many segments there will be, and
`iter_segments` yields them one by one from a single ffmpeg process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from types import TracebackType

from service.errors import DeadlineExceededError, FetchFailedError, PayloadTooLargeError, UrlForbiddenError
from service.media.async_runner import run_limited_async
from service.media.chunked_frames import ChunkLimits, chunked_frames, plan_chunks
from service.media.fetcher import UrlFetcher
from service.media.ffmpeg_binary import find_ffmpeg
from service.media.frame_stream import StreamJob, stream_windows, wanted_frames
from service.media.image_decode import decode_image
from service.media.models import FetchedMedia, Frames, MediaInfo, Segment
from service.media.mp4_index import read_mp4_index
from service.media.probe import interpret_probe, probe_command, too_many_frames
from service.media.process_groups import ChildTracker
from service.media.process_runner import OutputOverflowError, ProcessLimits, ProcessResult
from service.media.resolver import Resolver, SystemResolver
from service.media.sampling import SegmentSpans, WindowPlan, plan_clip, plan_segment_spans, plan_windows
from service.media.settings import MediaSettings, SamplingSpec
from service.media.spool import SpoolDir
from service.media.strategy import choose_strategy
from service.tracing import span


class _Permit:
    """One decode permit of `semaphore`, given back once: by `release()` as soon as the decoder has been told to
    stop, or on leaving the `async with` block at the latest."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self._held = False

    async def __aenter__(self) -> _Permit:
        await self._semaphore.acquire()
        self._held = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self._held:
            self._held = False
            self._semaphore.release()


class MediaIngestor:
    """Fetch (SSRF-safe), store, probe and decode untrusted media with bounded concurrency."""

    def __init__(
        self, settings: MediaSettings, resolver: Resolver | None = None, chunks: ChunkLimits | None = None
    ) -> None:
        self.settings = settings
        self._chunk_limits = chunks or ChunkLimits()
        self._fetcher = UrlFetcher(settings, resolver or SystemResolver())
        self._decodes = asyncio.Semaphore(settings.max_concurrent_decodes)
        # Requests in the media pipeline now: downloading, or decoding (holding a permit or waiting for one).
        self._media_work = 0
        # Purges the spool directories of dead processes under temp_dir before making ours.
        self._spool = SpoolDir(settings.temp_dir)
        self._dir = self._spool.path
        self._children = ChildTracker()
        self._closed = False

    async def __aenter__(self) -> MediaIngestor:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Kill every live ffmpeg process group of this ingestor and remove its spool directory. Idempotent.

        Decodes still running then fail (their streams end); the drain/shutdown path calls this last.
        """
        self._closed = True
        self._children.kill_all()
        await asyncio.to_thread(self._spool.close)

    def on_decoder_crash(self, hook: Callable[[int], None]) -> None:
        """Calls `hook(signal number)` whenever an ffmpeg child dies of a signal it was not sent (metrics)."""
        self._children.crash_hook = hook

    @property
    def live_children(self) -> int:
        """ffmpeg processes of this ingestor started and not yet reaped (tests and shutdown checks)."""
        return self._children.live

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
        # The URL itself stays out of the trace: signed URLs carry credentials in their query.
        with span("fetch", **{"url.scheme": url.partition(":")[0]}) as fetch_span:
            self._media_work += 1
            try:
                got = await self._fetcher.download(url, dest)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    dest.unlink()
                raise
            finally:
                self._media_work -= 1
            fetch_span.set_attribute("media.bytes", got.size_bytes)
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

    async def open_media(self, media: FetchedMedia) -> MediaInfo:
        """Probe `media`: stream facts and the caps (duration, pixels, frames, codec allow-list).

        A plain MP4/MOV is read from its `moov` index in-process; anything else (or `in_process_index`
        off) runs the ffmpeg probe. Both give the same MediaInfo and the same coded errors: unsupported_media,
        no_video_stream, media_too_long, resolution_too_large, decode_failed.
        """
        with span("probe", **{"media.bytes": media.size_bytes}) as probe_span:
            info = None
            if self.settings.in_process_index:
                probe_span.set_attribute("media.probe_path", "index")
                # A thread: a long video's tables take milliseconds to walk, too long for the event loop.
                info = await asyncio.to_thread(read_mp4_index, media.path, self.settings)
            if info is None:
                probe_span.set_attribute("media.probe_path", "ffmpeg")
                info = await self._probe_process(media)
            probe_span.set_attributes(
                {
                    "video.codec": info.codec,
                    "video.width": info.width,
                    "video.height": info.height,
                    "video.frames": info.num_frames,
                }
            )
        return info

    async def _probe_process(self, media: FetchedMedia) -> MediaInfo:
        argv, limits = probe_command(media.path, self.settings, find_ffmpeg(self.settings))
        async with self._decodes:
            try:
                result = await run_limited_async(argv, limits, self._children)
            except OutputOverflowError as exc:
                raise too_many_frames(self.settings) from exc
        # Parsing a long video's packet list takes a while: off the event loop.
        return await asyncio.to_thread(interpret_probe, result, self.settings)

    async def probe(self, media: FetchedMedia) -> MediaInfo:
        """Same as `open_media` (kept for existing callers)."""
        return await self.open_media(media)

    def plan_segment_spans(self, info: MediaInfo, spec: SamplingSpec) -> SegmentSpans:
        """The (start_s, end_s) windows `iter_segments` will yield, before any decoding.

        Without `spec.segment_s`: one span (the clip window). With it: every `segment_s` window of the
        video; only `spec.max_segments` limits the count, and then `truncated` is true and `available`
        says how many the video holds. Raises invalid_request when the window lies outside the video.
        """
        return plan_segment_spans(info, spec)

    async def iter_segments(
        self,
        media: FetchedMedia,
        spec: SamplingSpec,
        info: MediaInfo | None = None,
        *,
        deadline: float | None = None,
    ) -> AsyncGenerator[Segment, None]:
        """Yield the Segments of `plan_segment_spans(info, spec)` in order, each as soon as it is decoded.

        One ffmpeg process reads the file once; at most about one segment is decoded ahead of the consumer
        (the pipe blocks ffmpeg). `deadline` is a `time.monotonic()` value for the whole decode; besides
        it, a decoder that yields no frame for `decode_stall_timeout_s` fails with deadline_exceeded.
        Stop early with `aclose()` (or `contextlib.aclosing`) or by cancelling the task: the process group
        is killed, the decode permit released and the filter script removed at once.
        """
        if info is None:
            info = await self._open_by(media, deadline)
        plans = plan_windows(info, spec, plan_segment_spans(info, spec))
        # Closed explicitly: left to the garbage collector, the process would live on until it runs.
        async with contextlib.aclosing(self._stream(media, info, plans, spec, deadline)) as windows:
            async for segment in windows:
                yield segment

    async def _open_by(self, media: FetchedMedia, deadline: float | None) -> MediaInfo:
        try:
            # asyncio's clock is time.monotonic, the clock of `deadline`.
            async with asyncio.timeout_at(deadline):
                return await self.open_media(media)
        except TimeoutError as exc:
            raise DeadlineExceededError("the probe ran past the request deadline") from exc

    async def _stream(
        self,
        media: FetchedMedia,
        info: MediaInfo,
        plans: list[WindowPlan],
        spec: SamplingSpec,
        deadline: float | None,
    ) -> AsyncGenerator[Segment, None]:
        if self._closed:
            raise RuntimeError("MediaIngestor is closed")
        self._media_work += 1
        try:
            async with _Permit(self._decodes) as permit:
                settings = self._decode_settings()
                job = StreamJob(
                    media.path,
                    info,
                    plans,
                    spec,
                    settings,
                    self._dir,
                    self._children,
                    deadline,
                    permit.release,
                )
                async with contextlib.aclosing(stream_windows(job, self._chunked_source(job))) as windows:
                    async for segment in windows:
                        yield segment
        finally:
            self._media_work -= 1

    def _chunked_source(self, job: StreamJob) -> AsyncGenerator[Frames, None] | None:
        """Keyframe-aligned chunks over two single-thread decoders for a long decode while nobody else is in the
        media pipeline and a second permit is free; None (one ffmpeg) otherwise."""
        if not self.settings.chunked_decode or self._media_work > 1 or self._decodes.locked():
            return None
        wanted = wanted_frames(job)
        if choose_strategy(job.info, wanted).strategy == "seek":
            return None  # a few frames far apart: one ffmpeg seeking to each costs less than a pass in chunks
        limits = self._chunk_limits
        chunks = plan_chunks(job.info, wanted, limits, limits.queue_frames(job.spec.image_size))
        return chunked_frames(job, chunks, self._decodes, limits) if len(chunks) > 1 else None

    def _decode_settings(self) -> MediaSettings:
        """Auto decoder threads (0) let ffmpeg use every core: the fastest for a lone request. When another
        request is in the media pipeline (decoding, waiting for a decode permit, or downloading, so about to
        want one), one thread each spends the least CPU per clip while the requests fill the cores (issue
        24: 353-392 ms CPU per served clip with auto threads against 323-325 ms for one thread)."""
        if self.settings.decoder_threads == 0 and self._media_work > 1:
            return self.settings.model_copy(update={"decoder_threads": 1})
        return self.settings

    async def decode_clip(
        self, media: FetchedMedia, spec: SamplingSpec, info: MediaInfo | None = None
    ) -> Frames:
        """uint8 [T, S, S, 3] RGB, T = spec.num_frames, S = spec.image_size."""
        info = info or await self.open_media(media)
        deadline = time.monotonic() + self.settings.decode_timeout_s
        windows = self._stream(media, info, [plan_clip(info, spec)], spec, deadline)
        async with contextlib.aclosing(windows):
            async for segment in windows:
                return segment.frames
        raise AssertionError("a clip always yields one window")

    async def decode_segments(
        self, media: FetchedMedia, spec: SamplingSpec, info: MediaInfo | None = None
    ) -> list[Segment]:
        """Every segment at once (at most `settings.max_segments`); long videos should use `iter_segments`."""
        info = info or await self.open_media(media)
        spans = plan_segment_spans(info, spec, self.settings.max_segments)
        deadline = time.monotonic() + self.settings.decode_timeout_s
        windows = self._stream(media, info, plan_windows(info, spec, spans), spec, deadline)
        async with contextlib.aclosing(windows):
            return [segment async for segment in windows]

    async def decode_image(self, media: FetchedMedia, size: int, resize_mode: str) -> Frames:
        """One png/jpeg/webp image as uint8 [size, size, 3] RGB, shaped like a video frame.

        Raises unsupported_media, resolution_too_large, decode_failed (see `image_decode.py`).
        """
        ffmpeg = find_ffmpeg(self.settings)
        return await decode_image(self._run_permitted, ffmpeg, media.path, self.settings, size, resize_mode)

    async def _run_permitted(self, argv: list[str], limits: ProcessLimits) -> ProcessResult:
        async with self._decodes:
            return await run_limited_async(argv, limits, self._children)
