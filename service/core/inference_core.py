"""The compute both front doors share: lifecycle (start → ready → drain), the pipelines and whether a
batcher is overloaded. Requests are admitted, counted and waited for by `ServiceContext` (service/app.py),
which takes the video pipeline from `video`; `embed_video` is the same call for in-process users.

Request-level failures (not ready, draining, invalid or oversize request, overloaded) raise a
`ServiceError`; failures of one item (a text or a video: fetch, decode, deadline) are returned in that
item's result so the rest of a batch request still succeeds. One core serves one bundle; several bundles
in one process are several cores behind `service.core.model_registry.ModelRegistry`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from service.core.cache.embedding_cache import EmbeddingCache
from service.core.engine_factory import Engines, build_dummy_engines
from service.core.engine_sizing import build_sized_engines, resolved_for_prebuilt
from service.core.engines import Engine
from service.core.media_port import MediaPort
from service.core.metrics import CoreMetrics, NullMetrics
from service.core.request_scope import RequestScope
from service.core.running import RunningCore, assemble
from service.core.runtime_selection import RuntimeEnvironment
from service.core.settings import CoreSettings
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
from service.core.video_pipeline import VideoPipeline
from service.errors import DrainingError, InvalidRequestError, NotReadyError
from videoprism_bundle.loader import Bundle


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
        self._running: RunningCore | None = None
        self._draining = False

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
            engines, self.settings = await build_sized_engines(self.settings, self.bundle, self._environment)
        else:
            self.settings = resolved_for_prebuilt(self.settings, engines)
        self._running = await assemble(
            self.settings, self.bundle, engines, media=self._media, cache=self._cache, metrics=self.metrics
        )
        self.metrics.model_loaded(self.model_info())

    async def drain(self, deadline_s: float) -> bool:
        """Stops accepting work, lets what the batchers hold finish for up to `deadline_s`, then fails what
        is left with `draining` and stops them. True when everything finished in time. The core counts no
        requests: the service waits for its own (admission, model leases) before draining a core."""
        self._draining = True
        if self._running is None:
            return True
        finished = await self._running.settle(deadline_s)
        await self._running.close()
        return finished

    def model_info(self) -> ModelInfo:
        manifest = self.bundle.manifest
        if self._running is None:
            raise NotReadyError("model is still loading")
        engines = self._running.engines
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
            running.text_batcher.refuse_if_overloaded(len(texts))
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

    @property
    def video(self) -> VideoPipeline:
        """The video pipeline, for one request; raises `draining` / `not_ready` when it takes no work."""
        return self._accepting().video

    async def embed_video(
        self,
        item: VideoItem,
        options: VideoOptions | None = None,
        *,
        deadline: Deadline | None = None,
        api: str = "core",
    ) -> VideoEmbeddingResult:
        """One video, for in-process callers (tools, benchmarks, tests)."""
        deadline = deadline or Deadline.after(self.settings.default_deadline_s)
        return await self.video.embed(item, options or VideoOptions(), deadline, api=api)

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

    def is_overloaded(self, kind: str) -> bool:
        """Whether the `kind` ("text" / "video") batcher has no room: the doors ask it (through the model
        registry) to refuse before reading a request, when the refusal is cheap."""
        running = self._running
        if running is None:
            return False
        batcher = running.text_batcher if kind == "text" else running.video_batcher
        return batcher is not None and batcher.is_overloaded()

    def _accepting(self) -> RunningCore:
        if self._draining:
            raise DrainingError("server is shutting down")
        if self._running is None:
            raise NotReadyError("model is still loading")
        return self._running

    def _request(self, api: str, method: str) -> RequestScope:
        return RequestScope(self.metrics, api, method)


def _encoder_info(engine: Engine[Any]) -> EncoderInfo:
    return EncoderInfo(
        engine.backend.runtime, engine.backend.provider, engine.reason, engine.warmed_batch_sizes
    )
