"""The state both front doors share: settings, metrics registry, the served models and the lifecycle.

One `ServiceContext` per process (or per test): built before the listeners start, loaded (cache → media →
each model's bundle and warm-up) while the listeners already answer liveness, drained on shutdown. The
front doors receive it explicitly (FastAPI dependency, gRPC servicer constructor); there is no
module-level state. Admission and the in-flight count live in `service/admission.py`, the name → core
mapping and its swaps in `service/core/model_registry.py`, loads and reloads in `service/model_service.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from enum import StrEnum

from service.admission import Admission
from service.auth import KeyStore, Principal, RateLimiter, Scope
from service.auth.keys import principal_var
from service.core import InferenceCore, PrometheusMetrics, build_cache
from service.core.cache.embedding_cache import EmbeddingCache
from service.core.media_adapter import MediaIngestorAdapter
from service.core.model_registry import Lease, ModelRegistry
from service.core.types import Deadline, TextEmbeddingResult, VideoEmbeddingResult, VideoItem, VideoOptions
from service.errors import (
    DrainingError,
    InternalError,
    InvalidRequestError,
    NotReadyError,
    OverloadedError,
    PayloadTooLargeError,
    ServiceError,
)
from service.jobs.service import JobService
from service.media import MediaIngestor
from service.model_service import ModelService
from service.settings import Settings
from videoprism_bundle.loader import Bundle, load_bundle

log = logging.getLogger(__name__)

# After the drain deadline, how long the cut-off requests get to write their `draining` answers.
_CUT_OFF_ANSWER_S = 2.0

# Raised by one item, these still describe the whole request or the server, so they fail the request.
_REQUEST_LEVEL = (OverloadedError, DrainingError, NotReadyError, InternalError, PayloadTooLargeError)


class Phase(StrEnum):
    LOADING = "loading"
    READY = "ready"
    DRAINING = "draining"
    FAILED = "failed"
    STOPPED = "stopped"


class ServiceContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = PrometheusMetrics()
        self.phase = Phase.LOADING
        self.started_at = time.time()
        self.models = ModelRegistry(drain_timeout_s=settings.drain_timeout_s)
        self._model_service: ModelService | None = None
        self._cache: EmbeddingCache | None = None
        self._media: MediaIngestor | None = None
        self._jobs: JobService | None = None
        self._admission = Admission(settings.max_in_flight, self.models.is_overloaded)
        self.metrics.in_flight.set_function(lambda: self._admission.count)
        self.keys = KeyStore(settings.api_key_values(), settings.api_keys_file)
        self.rate_limiter = RateLimiter(settings.rate_limit_settings())

    @property
    def core(self) -> InferenceCore:
        """The default model's core. While draining it stays available: `admit` is what refuses new
        requests, and requests admitted before the drain must be able to finish."""
        if self.phase is Phase.STOPPED:
            raise DrainingError("server is shutting down")
        return self.models.get()

    def lease(self, model: str | None = None, *, any_name_if_one: bool = False) -> Lease:
        """Pins the core serving `model` (None: the default) for one request, so a reload swapping that
        model meanwhile lets the request finish on the engine it started on; `model_not_found` (404)
        names the served models."""
        if self.phase is Phase.STOPPED:
            raise DrainingError("server is shutting down")
        return self.models.lease(model, any_name_if_one=any_name_if_one)

    @property
    def model_service(self) -> ModelService:
        """Loads, reloads and unloads models (admin routes, SIGHUP)."""
        if self._model_service is None:
            raise NotReadyError("model is still loading")
        return self._model_service

    @property
    def ready(self) -> bool:
        return self.phase is Phase.READY and self.models.ready

    @property
    def draining(self) -> bool:
        return self.phase in (Phase.DRAINING, Phase.STOPPED)

    async def load(self) -> None:
        """Builds cache and media, then verifies, builds and warms up every configured model; READY
        afterwards."""
        settings = self.settings
        try:
            self._cache = build_cache(settings.cache_settings(), self.metrics)
            # The SSRF-safe fetcher and ffmpeg decoder, shared by every model; `aclose` removes its temp dir.
            self._media = MediaIngestor(settings.media_settings())
            self._media.on_decoder_crash(self.metrics.decoder_crashed)
            self._model_service = ModelService(settings, self.models, self._build_core, load_bundle)
            await self._model_service.load_configured()
        except BaseException:
            self.phase = Phase.FAILED
            raise
        prefix = self._cache.key_prefix if self._cache is not None else "vp"
        self._jobs = JobService.build(settings, self.lease, prefix)
        self._jobs.start()
        if self.phase is Phase.LOADING:
            self.phase = Phase.READY
        log.info("ready", extra={"models": {m.name: m.core.bundle.bundle_id for m in self.models.served()}})

    def _build_core(self, bundle: Bundle) -> InferenceCore:
        """A core for one bundle over the shared cache, media and metrics (not started)."""
        media = MediaIngestorAdapter(self._media) if self._media is not None else None
        return InferenceCore.create(
            self.settings.core_settings(),
            bundle,
            media=media,
            cache=self._cache,
            metrics=self.metrics,
            dummy_engines=self.settings.engine == "dummy",
        )

    def authenticate(self, authorization: str | None) -> Principal:
        """The caller behind "Bearer <key>", or `unauthenticated`; everyone is anonymous when keys are off."""
        return self.keys.authenticate(authorization)

    async def authorize(self, authorization: str | None, scope: Scope | None) -> Principal:
        """Key, then scope (`permission_denied`), then the key's rate limit (`rate_limited`): the one check
        both doors run before reading a request, so a refused call costs no fetch, parse or cache lookup.
        `scope` None: any valid key will do (model metadata). The principal is also set for this task, so
        work charged after the fact (clip-seconds) lands on the right key."""
        principal = self.keys.authenticate(authorization)
        principal.require(scope)
        await self.rate_limiter.admit(principal, scope)
        principal_var.set(principal)
        return principal

    def begin_drain(self) -> None:
        """Flips readiness at once; requests admitted from now on fail with `draining`."""
        self._admission.refusing = True
        if self.phase is not Phase.STOPPED:
            self.phase = Phase.DRAINING

    def check_capacity(self, endpoint: str | None = None) -> None:
        """`overloaded` beyond `max_in_flight`, or when every model's batcher that `endpoint` (an HTTP
        path or a gRPC method) feeds is overloaded."""
        self._admission.check_capacity(endpoint)

    def admit(
        self, *, limited: bool = True, endpoint: str | None = None
    ) -> AbstractAsyncContextManager[None]:
        """Wraps one front-door request (service/admission.py): refused while draining and, when
        `limited`, beyond capacity; counted until it completes."""
        return self._admission.admit(limited=limited, endpoint=endpoint)

    def check_video_count(self, count: int) -> None:
        """The per-request video limit; the upload route asks before it reads the files."""
        if not 0 < count <= self.settings.max_videos_per_request:
            raise InvalidRequestError(f"send 1 to {self.settings.max_videos_per_request} videos per request")

    async def embed_videos(
        self,
        items: Sequence[VideoItem],
        options: VideoOptions,
        *,
        api: str,
        timeout_s: float | None = None,
        core: InferenceCore | None = None,
    ) -> list[VideoEmbeddingResult]:
        """Embeds a batch of videos concurrently on `core` (a leased model; None: the default) through its
        video pipeline. An error confined to one video becomes that item's result; an error about the
        server or the request as a whole (overloaded, draining, ...) fails the request."""
        self.check_video_count(len(items))
        if core is None:
            with self.lease() as model:
                return await self.embed_videos(items, options, api=api, timeout_s=timeout_s, core=model.core)
        deadline = self._deadline(timeout_s)
        video = core.video  # draining / not ready fail the request here
        outcomes = await asyncio.gather(
            *(video.embed(item, options, deadline, api=api) for item in items), return_exceptions=True
        )
        results: list[VideoEmbeddingResult] = []
        for outcome in outcomes:
            if isinstance(outcome, _REQUEST_LEVEL) or not isinstance(
                outcome, VideoEmbeddingResult | ServiceError
            ):
                raise outcome
            results.append(
                outcome
                if isinstance(outcome, VideoEmbeddingResult)
                else VideoEmbeddingResult(None, error=outcome)
            )
        await self._charge_clip_seconds(results)
        return results

    async def _charge_clip_seconds(self, results: Sequence[VideoEmbeddingResult]) -> None:
        principal = principal_var.get()
        if principal is not None:
            await self.rate_limiter.charge_videos(principal, results)

    async def embed_texts(
        self,
        texts: Sequence[str],
        *,
        api: str,
        timeout_s: float | None = None,
        core: InferenceCore | None = None,
    ) -> list[TextEmbeddingResult]:
        if core is None:
            with self.lease() as model:
                return await model.core.embed_texts(texts, deadline=self._deadline(timeout_s), api=api)
        return await core.embed_texts(texts, deadline=self._deadline(timeout_s), api=api)

    def _deadline(self, client_timeout_s: float | None) -> Deadline:
        """The server's request timeout, shortened to the client's own deadline when it has one."""
        limit = self.settings.request_timeout_s
        return Deadline.after(limit if client_timeout_s is None else min(limit, client_timeout_s))

    @property
    def in_flight(self) -> int:
        return self._admission.count

    async def drain(self, deadline_s: float | None = None) -> bool:
        """Waits for admitted requests up to the drain deadline, then stops the core and closes the cache
        and media (temp files, child processes). True when every request finished in time."""
        self.begin_drain()
        budget = self.settings.drain_timeout_s if deadline_s is None else deadline_s
        started = time.monotonic()
        finished = True
        if not await self._admission.wait_idle(budget):
            finished = False
            log.warning("drain deadline passed with %d requests in flight", self._admission.count)
            await self._cut_off_remaining()
        finished = await self.models.drain(max(0.0, budget - (time.monotonic() - started))) and finished
        await self.close()
        return finished

    async def _cut_off_remaining(self) -> None:
        """Cancels what is still running so each answers `draining`, then kills the media children (a
        decode blocked in a worker thread is not stopped by the cancel, but ends when its ffmpeg dies).
        Cancelling first matters: a child killed first fails its item with a media error instead."""
        self._admission.cut_off()
        if self._media is not None:
            with contextlib.suppress(Exception):
                await self._media.aclose()
        await self._admission.wait_idle(_CUT_OFF_ANSWER_S)

    @property
    def jobs(self) -> JobService:
        if self._jobs is None:
            raise NotReadyError("model is still loading")
        return self._jobs

    async def close(self) -> None:
        self._admission.refusing = True
        self.phase = Phase.STOPPED
        if self._jobs is not None:
            # Jobs cut off here stay claimed in Redis and are taken over by another replica.
            with contextlib.suppress(Exception):
                await self._jobs.aclose()
            self._jobs = None
        if self._media is not None:
            with contextlib.suppress(Exception):
                await self._media.aclose()
            self._media = None
        if self._cache is not None:
            with contextlib.suppress(Exception):
                await self._cache.close()
            self._cache = None
        with contextlib.suppress(Exception):
            await self.rate_limiter.close()
