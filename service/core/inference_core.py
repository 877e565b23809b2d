"""The engine both front doors share: lifecycle (start → ready → drain), request accounting and the two
public calls. Front doors stay thin: they parse, call `embed_texts` / `embed_video`, and map errors.

Request-level failures (not ready, draining, invalid or oversize request, overloaded) raise a
`ServiceError`; failures of one item (a text or a video: fetch, decode, deadline) are returned in that
item's result so the rest of a batch request still succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import AsyncGenerator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from service.bundle.loader import Bundle
from service.core.batcher import DynamicBatcher
from service.core.cache.embedding_cache import EmbeddingCache
from service.core.cache.keys import model_cache_version
from service.core.engine_factory import Engines, build_dummy_engines, build_engines, predict_placement
from service.core.engines import Engine, TokenRow, warmup_sizes
from service.core.media_port import MediaPort
from service.core.metrics import CoreMetrics, NullMetrics
from service.core.parallelism import (
    ModelCost,
    Placement,
    needs_cost,
    resolve_parallelism,
    usable_cores,
)
from service.core.runtime_selection import CPU_EP, RuntimeEnvironment
from service.core.segment_stream import SegmentStreamer
from service.core.settings import BatcherSettings, CoreSettings
from service.core.single_flight import SingleFlight
from service.core.text_pipeline import TextPipeline
from service.core.types import (
    Deadline,
    EncoderInfo,
    ModelInfo,
    TextEmbeddingResult,
    VideoEmbeddingResult,
    VideoItem,
    VideoOptions,
    VideoStreamItem,
)
from service.core.video_inputs import VideoInputs
from service.core.video_pipeline import VideoPipeline
from service.errors import (
    DrainingError,
    InternalError,
    InvalidRequestError,
    NotReadyError,
    OverloadedError,
    ServiceError,
)
from service.text.tokenizer import TextTokenizer

log = logging.getLogger(__name__)


@dataclass
class _Running:
    """Everything `start()` builds; absent until the core is ready."""

    engines: Engines
    video_batcher: DynamicBatcher[npt.NDArray[np.uint8]]
    text_batcher: DynamicBatcher[TokenRow] | None
    executors: list[ThreadPoolExecutor]
    video: VideoPipeline
    text: TextPipeline | None
    segments: SegmentStreamer


class InferenceCore:
    def __init__(
        self,
        settings: CoreSettings,
        bundle: Bundle,
        *,
        media: MediaPort | None,
        cache: EmbeddingCache | None,
        metrics: CoreMetrics,
        engines: Engines | None,
        environment: RuntimeEnvironment | None,
    ) -> None:
        self.settings = settings
        self.bundle = bundle
        self.metrics = metrics
        self._media = media
        self._cache = cache
        self._prebuilt_engines = engines
        self._environment = environment
        self._running: _Running | None = None
        self._draining = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    def create(
        cls,
        settings: CoreSettings,
        bundle: Bundle,
        *,
        media: MediaPort | None = None,
        cache: EmbeddingCache | None = None,
        metrics: CoreMetrics | None = None,
        dummy_engines: bool = False,
        environment: RuntimeEnvironment | None = None,
    ) -> InferenceCore:
        """Nothing is loaded until `start()`. `dummy_engines` swaps the ONNX sessions for numpy ones;
        `environment` overrides runtime detection (tests)."""
        engines = build_dummy_engines(bundle) if dummy_engines else None
        return cls(
            settings,
            bundle,
            media=media,
            cache=cache,
            metrics=metrics or NullMetrics(),
            engines=engines,
            environment=environment,
        )

    @property
    def ready(self) -> bool:
        return self._running is not None and not self._draining

    @property
    def draining(self) -> bool:
        return self._draining

    async def start(self) -> None:
        """Loads the sessions, chooses the parallelism from the model's cost and warms up off the event
        loop; ready afterwards."""
        if self._running is not None:
            return
        engines = self._prebuilt_engines
        if engines is None:
            engines = await self._build_engines()
        else:
            self._resolve_parallelism(
                Placement(
                    video_on_cpu=engines.video.backend.provider == CPU_EP,
                    text_on_cpu=engines.text is not None and engines.text.backend.provider == CPU_EP,
                ),
                None,
            )
        manifest = self.bundle.manifest
        video_settings = _usable(self.settings.video_batcher, engines.video)
        executors = [ThreadPoolExecutor(video_settings.workers, thread_name_prefix="infer-video")]
        video_batcher = DynamicBatcher(engines.video, video_settings, self.metrics, executors[0])
        seconds = await asyncio.to_thread(
            engines.video.warmup, warmup_sizes(video_batcher.batch_sizes(manifest.video.num_frames))
        )
        log.info(
            "video encoder warmed up at batch sizes %s in %.2fs", engines.video.warmed_batch_sizes, seconds
        )
        video_inputs = VideoInputs(
            self._media,
            self._cache,
            self.metrics,
            bundle_id=self.bundle.bundle_id,
            model_version=model_cache_version(manifest),
            num_frames=manifest.video.num_frames,
            image_size=manifest.video.image_size,
            resize_mode=manifest.video.resize_mode,
            embedding_dim=engines.video.embedding_dim,
        )
        video = VideoPipeline(video_batcher, video_inputs, SingleFlight(), self.metrics)
        segments = SegmentStreamer(
            video_batcher, video_inputs, segment_deadline_s=self.settings.default_deadline_s
        )
        text_batcher = text = None
        if engines.text is not None and self.bundle.tokenizer is not None and manifest.text is not None:
            text_settings = _usable(self.settings.text_batcher, engines.text)
            executors.append(ThreadPoolExecutor(text_settings.workers, thread_name_prefix="infer-text"))
            text_batcher = DynamicBatcher(engines.text, text_settings, self.metrics, executors[1])
            seconds = await asyncio.to_thread(engines.text.warmup, warmup_sizes(text_batcher.batch_sizes(1)))
            log.info(
                "text encoder warmed up at batch sizes %s in %.2fs", engines.text.warmed_batch_sizes, seconds
            )
            tokenizer = TextTokenizer(
                self.bundle.tokenizer,
                max_length=manifest.text.max_length,
                canonicalize=manifest.text.canonicalize,
                pad_id=manifest.text.pad_id,
            )
            text = TextPipeline(
                tokenizer,
                text_batcher,
                self._cache,
                SingleFlight(),
                bundle_id=self.bundle.bundle_id,
                model_version=model_cache_version(manifest),
            )
        video_batcher.start()
        if text_batcher is not None:
            text_batcher.start()
        self._running = _Running(engines, video_batcher, text_batcher, executors, video, text, segments)
        self.metrics.model_loaded(self.model_info())

    async def drain(self, deadline_s: float) -> bool:
        """Stops accepting work, lets in-flight requests finish for up to `deadline_s`, then fails what is
        left with `draining` and stops the batchers. True when everything finished in time."""
        self._draining = True
        finished = True
        try:
            await asyncio.wait_for(self._idle.wait(), deadline_s)
        except TimeoutError:
            finished = False
        running = self._running
        if running is not None:
            await running.video_batcher.close()
            if running.text_batcher is not None:
                await running.text_batcher.close()
            for executor in running.executors:
                executor.shutdown(wait=False, cancel_futures=True)
        return finished

    def model_info(self) -> ModelInfo:
        manifest = self.bundle.manifest
        if self._running is None:
            raise NotReadyError("model is still loading")
        engines = self._running.engines

        def info(engine: object) -> EncoderInfo:
            from service.core.engines import Engine

            assert isinstance(engine, Engine)
            return EncoderInfo(
                engine.backend.runtime, engine.backend.provider, engine.reason, engine.warmed_batch_sizes
            )

        return ModelInfo(
            model_name=manifest.model_name,
            model_version=manifest.model_version,
            bundle_id=self.bundle.bundle_id,
            embedding_dim=manifest.embedding_dim,
            num_frames=manifest.video.num_frames,
            image_size=manifest.video.image_size,
            resize_mode=manifest.video.resize_mode,
            text_max_length=manifest.text.max_length if manifest.text else None,
            video=_encoder_info(engines.video),
            text=_encoder_info(engines.text) if engines.text is not None else None,
        )

    async def embed_texts(
        self, texts: Sequence[str], *, deadline: Deadline | None = None, api: str = "core"
    ) -> list[TextEmbeddingResult]:
        with self._request(api, "embed_texts") as outcome:
            running = self._accepting()
            if running.text is None or running.text_batcher is None:
                raise InvalidRequestError("this bundle has no text encoder")
            if not texts or len(texts) > self.settings.max_texts_per_request:
                raise InvalidRequestError(f"send 1 to {self.settings.max_texts_per_request} texts")
            if any(len(t) > self.settings.max_text_chars for t in texts):
                raise InvalidRequestError(f"texts are limited to {self.settings.max_text_chars} characters")
            if running.text_batcher.free_slots() < len(texts):
                raise OverloadedError("text queue is full", retry_after_s=1.0)
            deadline = deadline or Deadline.after(self.settings.default_deadline_s)
            if len(texts) == 1:
                # The common single-text call skips gather's task and callbacks.
                results = [await running.text.embed(texts[0], deadline)]
            else:
                results = list(await asyncio.gather(*(running.text.embed(t, deadline) for t in texts)))
            outcome.code = next((r.error.code for r in results if r.error is not None), "ok")
            return results

    def decode_token_ids(self, rows: Sequence[Sequence[int]]) -> list[str]:
        """Texts of token-id inputs (the OpenAI route's `input=[[...]]`), in the bundle's own vocabulary."""
        running = self._accepting()
        if running.text is None:
            raise InvalidRequestError("this bundle has no text encoder")
        return [running.text.tokenizer.decode_ids(row) for row in rows]

    async def embed_video(
        self,
        item: VideoItem,
        options: VideoOptions | None = None,
        *,
        deadline: Deadline | None = None,
        api: str = "core",
    ) -> VideoEmbeddingResult:
        with self._request(api, "embed_video") as outcome:
            running = self._accepting()
            deadline = deadline or Deadline.after(self.settings.default_deadline_s)
            result = await running.video.embed(item, options or VideoOptions(), deadline)
            outcome.code = result.error.code if result.error is not None else "ok"
            return result

    async def embed_video_segments(
        self,
        item: VideoItem,
        options: VideoOptions | None = None,
        *,
        deadline: Deadline | None = None,
        first_index: int = 0,
        api: str = "core",
    ) -> AsyncGenerator[VideoStreamItem, None]:
        """Every segment in order as it is embedded, then the whole video (`StreamedVideo`). No segment cap
        and no server deadline (a long video takes as long as it takes; `deadline` is the caller's own).
        Closing the generator stops the decode at once."""
        with self._request(api, "embed_video_segments"):
            stream = self._accepting().segments.stream(
                item, options or VideoOptions(), deadline, first_index=first_index
            )
            async with contextlib.aclosing(stream):
                async for out in stream:
                    yield out

    async def _build_engines(self) -> Engines:
        """Sessions built with the parallelism the model's cost calls for. Without FLOPs in the manifest
        the cost is one timed single-clip run on a session with every core (the right one for a big model,
        which is the expensive one to rebuild); a small model's session is then rebuilt single-threaded."""
        env = self._environment
        if env is None:
            env = await asyncio.to_thread(RuntimeEnvironment.detect, self.settings.runtime.device_id)
        placement = predict_placement(self.bundle, self.settings.runtime, env)
        cores = usable_cores()
        gflops = self.bundle.manifest.video_gflops_per_clip
        cost = ModelCost(gflops_per_clip=gflops) if gflops is not None else None
        if cost is not None or not needs_cost(self.settings, placement):
            self._resolve_parallelism(placement, cost)
            big = cost is not None and cost.is_big()
            return await asyncio.to_thread(
                functools.partial(build_engines, big_model=big), self.bundle, self.settings.runtime, env
            )
        probe = resolve_parallelism(self.settings, placement, cores, ModelCost(gflops_per_clip=float("inf")))
        engines = await asyncio.to_thread(
            functools.partial(build_engines, big_model=True), self.bundle, probe.runtime, env
        )
        seconds = await asyncio.to_thread(engines.video.warmup, [1])
        cost = ModelCost(seconds_per_clip=seconds, threads=cores)
        self._resolve_parallelism(placement, cost)
        log.info("video encoder: %.3fs per clip with %d threads (big: %s)", seconds, cores, cost.is_big())
        if not cost.is_big():
            engines = await asyncio.to_thread(build_engines, self.bundle, self.settings.runtime, env)
        return engines

    def _resolve_parallelism(self, placement: Placement, cost: ModelCost | None) -> None:
        self.settings = resolve_parallelism(self.settings, placement, usable_cores(), cost)
        log.info(
            "workers: video %d, text %d; intra-op threads %s",
            self.settings.video_batcher.workers,
            self.settings.text_batcher.workers,
            self.settings.runtime.intra_op_threads or "onnxruntime's default",
        )

    def queue_full(self, kind: str) -> bool:
        """Whether the `kind` ("text" / "video") batcher has no free slot: the doors use it to refuse
        before reading a request, when the refusal is cheap (see ServiceContext.check_capacity)."""
        running = self._running
        if running is None:
            return False
        batcher = running.text_batcher if kind == "text" else running.video_batcher
        return batcher is not None and batcher.free_slots() <= 0

    def _accepting(self) -> _Running:
        if self._draining:
            raise DrainingError("server is shutting down")
        if self._running is None:
            raise NotReadyError("model is still loading")
        return self._running

    def _request(self, api: str, method: str) -> _RequestScope:
        return _RequestScope(self, api, method)

    def _entered(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def _left(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()


class _RequestScope:
    """In-flight accounting and the request metric around one public call. A plain class rather than an
    asynccontextmanager: the generator machinery was a visible share of a small model's request cost."""

    __slots__ = ("_api", "_core", "_method", "_started", "code")

    def __init__(self, core: InferenceCore, api: str, method: str) -> None:
        self._core, self._api, self._method = core, api, method
        self.code = "ok"
        self._started = 0.0

    def __enter__(self) -> _RequestScope:
        self._started = time.perf_counter()
        self._core._entered()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if isinstance(exc, ServiceError):
                self.code = exc.code
            elif isinstance(exc, asyncio.CancelledError | GeneratorExit):  # a closed stream is a cancel
                self.code = "cancelled"
            elif exc is not None:
                self.code = "internal"
                log.error("%s failed", self._method, exc_info=exc)
                raise InternalError(f"{self._method} failed unexpectedly") from exc
        finally:
            self._core._left()
            self._core.metrics.request_finished(
                self._api, self._method, self.code, time.perf_counter() - self._started
            )


def _usable(settings: BatcherSettings, engine: Engine[Any]) -> BatcherSettings:
    """One worker for a backend whose `run` must not be called concurrently (TensorRT)."""
    if settings.workers == 1 or engine.backend.thread_safe:
        return settings
    log.warning(
        "%s: %s backend runs one batch at a time; using 1 worker instead of %d",
        engine.kind,
        engine.backend.runtime,
        settings.workers,
    )
    return dataclasses.replace(settings, workers=1)


def _encoder_info(engine: Engine[Any]) -> EncoderInfo:
    return EncoderInfo(
        engine.backend.runtime, engine.backend.provider, engine.reason, engine.warmed_batch_sizes
    )
