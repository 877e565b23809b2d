"""The state both front doors share: settings, metrics registry, the inference core and the lifecycle.

One `ServiceContext` per process (or per test): built before the listeners start, loaded (bundle → cache →
media → core warm-up) while the listeners already answer liveness, drained on shutdown. The front doors
receive it explicitly (FastAPI dependency, gRPC servicer constructor); there is no module-level state.

Draining is tracked here, above the core, because a front-door request is "in flight" from the moment it
is admitted (before its body is parsed or its upload received), not only while the core is computing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from enum import StrEnum
from typing import Any

from service.auth import KeyStore, Principal, RateLimiter, Scope
from service.auth.keys import principal_var
from service.bundle.loader import load_bundle
from service.core import InferenceCore, PrometheusMetrics, build_cache
from service.core.cache.embedding_cache import EmbeddingCache
from service.core.media_adapter import MediaIngestorAdapter
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
from service.settings import Settings

log = logging.getLogger(__name__)

# Refused requests are told to come back after this long; a queue that is full now drains within seconds.
_OVERLOADED_RETRY_AFTER_S = 1.0

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
        self._core: InferenceCore | None = None
        self._cache: EmbeddingCache | None = None
        self._media: MediaIngestor | None = None
        self._jobs: JobService | None = None
        self._in_flight = 0
        self._limited_in_flight = 0  # the part of `_in_flight` that `max_in_flight` caps
        self._idle = asyncio.Event()
        self._idle.set()
        self._admitted: set[asyncio.Task[Any]] = set()  # the tasks of admitted requests, for `drain`
        self._cut_off: set[asyncio.Task[Any]] = set()  # those `drain` cancelled at its deadline
        self.metrics.in_flight.set_function(lambda: self._in_flight)
        self.keys = KeyStore(settings.api_key_values(), settings.api_keys_file)
        self.rate_limiter = RateLimiter(settings.rate_limit_settings())

    @property
    def core(self) -> InferenceCore:
        """The loaded core. While draining it stays available: `admit` is what refuses new requests, and
        requests admitted before the drain must be able to finish."""
        if self.phase is Phase.STOPPED:
            raise DrainingError("server is shutting down")
        if self._core is None:
            raise NotReadyError("model is still loading")
        return self._core

    @property
    def ready(self) -> bool:
        return self.phase is Phase.READY and self._core is not None and self._core.ready

    @property
    def draining(self) -> bool:
        return self.phase in (Phase.DRAINING, Phase.STOPPED)

    async def load(self) -> None:
        """Verifies the bundle, builds cache, media and core, and warms the encoders up; READY afterwards."""
        settings = self.settings
        try:
            bundle = await asyncio.to_thread(load_bundle, settings.bundle)
            self._cache = build_cache(settings.cache_settings(), self.metrics)
            self._media = _build_media(settings)
            self._media.on_decoder_crash(self.metrics.decoder_crashed)
            core = InferenceCore.create(
                settings.core_settings(),
                bundle,
                media=MediaIngestorAdapter(self._media),
                cache=self._cache,
                metrics=self.metrics,
                dummy_engines=settings.engine == "dummy",
            )
            await core.start()
        except BaseException:
            self.phase = Phase.FAILED
            raise
        self._core = core
        prefix = self._cache.key_prefix if self._cache is not None else "vp"
        self._jobs = JobService.build(settings, lambda: self.core, prefix)
        self._jobs.start()
        if self.phase is Phase.LOADING:
            self.phase = Phase.READY
        log.info("ready", extra={"bundle": str(settings.bundle), "bundle_id": bundle.bundle_id})

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
        if self.phase is not Phase.STOPPED:
            self.phase = Phase.DRAINING

    def check_capacity(self, kind: str | None = None) -> None:
        """Raises `overloaded` when `max_in_flight` embedding requests are already being handled, or when
        the request is for `kind` ("text" / "video") and that batcher's queue is full. Both doors call
        this before reading the request, so a refusal costs neither parsing nor memory. The queue check
        matters under sustained overload: a refusal found only after parsing, validating and tokenizing
        costs about half an admitted request, and at twice the capacity those refusals crowded out the
        admitted work (admitted throughput fell to an eighth of capacity with p99 near 9 s)."""
        if self._limited_in_flight >= self.settings.max_in_flight:
            raise OverloadedError(
                f"{self.settings.max_in_flight} requests in flight", retry_after_s=_OVERLOADED_RETRY_AFTER_S
            )
        if kind is not None and self._core is not None and self._core.queue_full(kind):
            raise OverloadedError(f"{kind} queue is full", retry_after_s=_OVERLOADED_RETRY_AFTER_S)

    @contextlib.asynccontextmanager
    async def admit(self, *, limited: bool = True, kind: str | None = None) -> AsyncIterator[None]:
        """Wraps one front-door request: refused while draining (and, when `limited`, beyond
        `max_in_flight`), counted until it completes. Metadata routes pass `limited=False`: they cost
        nothing and operators need them most when the server is overloaded."""
        if self.draining:
            raise DrainingError("server is shutting down")
        if limited:
            self.check_capacity(kind)
            self._limited_in_flight += 1
        self._in_flight += 1
        self._idle.clear()
        task = asyncio.current_task()
        if task is not None:
            self._admitted.add(task)
        try:
            yield
        except asyncio.CancelledError:
            # Cancelled by `drain` past its deadline: answer `draining` (never a 500 or a reset) and let
            # the task go on to write that answer.
            if task is None or task not in self._cut_off:
                raise
            task.uncancel()
            raise DrainingError("server is shutting down: the request did not finish in time") from None
        finally:
            if task is not None:
                self._admitted.discard(task)
                self._cut_off.discard(task)
            self._in_flight -= 1
            if limited:
                self._limited_in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def embed_videos(
        self, items: Sequence[VideoItem], options: VideoOptions, *, api: str, timeout_s: float | None = None
    ) -> list[VideoEmbeddingResult]:
        """Embeds a batch of videos concurrently. An error confined to one video becomes that item's result;
        an error about the server or the request as a whole (overloaded, draining, ...) fails the request."""
        if not items or len(items) > self.settings.max_videos_per_request:
            raise InvalidRequestError(f"send 1 to {self.settings.max_videos_per_request} videos per request")
        core = self.core
        deadline = self._deadline(timeout_s)
        outcomes = await asyncio.gather(
            *(core.embed_video(item, options, deadline=deadline, api=api) for item in items),
            return_exceptions=True,
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
        self, texts: Sequence[str], *, api: str, timeout_s: float | None = None
    ) -> list[TextEmbeddingResult]:
        return await self.core.embed_texts(texts, deadline=self._deadline(timeout_s), api=api)

    def _deadline(self, client_timeout_s: float | None) -> Deadline:
        """The server's request timeout, shortened to the client's own deadline when it has one."""
        limit = self.settings.request_timeout_s
        return Deadline.after(limit if client_timeout_s is None else min(limit, client_timeout_s))

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def drain(self, deadline_s: float | None = None) -> bool:
        """Waits for admitted requests up to the drain deadline, then stops the core and closes the cache
        and media (temp files, child processes). True when every request finished in time."""
        self.begin_drain()
        budget = self.settings.drain_timeout_s if deadline_s is None else deadline_s
        started = time.monotonic()
        finished = True
        try:
            await asyncio.wait_for(self._idle.wait(), budget)
        except TimeoutError:
            finished = False
            log.warning("drain deadline passed with %d requests in flight", self._in_flight)
            await self._cut_off_remaining()
        if self._core is not None:
            finished = await self._core.drain(max(0.0, budget - (time.monotonic() - started))) and finished
        await self.close()
        return finished

    async def _cut_off_remaining(self) -> None:
        """Cancels what is still running so each answers `draining`, then kills the media children (a
        decode blocked in a worker thread is not stopped by the cancel, but ends when its ffmpeg dies).
        Cancelling first matters: a child killed first fails its item with a media error instead."""
        for task in list(self._admitted):
            self._cut_off.add(task)
            task.cancel()
        if self._media is not None:
            with contextlib.suppress(Exception):
                await self._media.aclose()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), _CUT_OFF_ANSWER_S)

    @property
    def jobs(self) -> JobService:
        if self._jobs is None:
            raise NotReadyError("model is still loading")
        return self._jobs

    async def close(self) -> None:
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


def _build_media(settings: Settings) -> MediaIngestor:
    """The SSRF-safe fetcher and ffmpeg decoder; owns a temp directory removed by `aclose`."""
    return MediaIngestor(settings.media_settings())
