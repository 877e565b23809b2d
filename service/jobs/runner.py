"""The worker loop each replica runs: take a job from the store, stream its segments through the core
(from the first segment not yet stored), store each, then the final state. At most `concurrency` jobs at
once per replica. While a job runs its claim is renewed, and its state is polled so a DELETE stops the
work within `_POLL_S` (the stream's close kills its ffmpeg)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import numpy as np

from service.core.model_registry import Lease
from service.core.types import StreamedSegment
from service.core.vectors import normalized_mean
from service.errors import ServiceError
from service.jobs.callback import CallbackSender
from service.jobs.models import JobError, JobRequest, JobSegment, JobStatus
from service.jobs.store import Claim, JobStore

log = logging.getLogger(__name__)

_POLL_S = 0.25
_CLAIM_WAIT_S = 1.0


class JobRunner:
    def __init__(
        self,
        store: JobStore,
        lease: Callable[[], Lease],
        callbacks: CallbackSender,
        *,
        concurrency: int,
        visibility_timeout_s: float,
    ) -> None:
        self._store = store
        # The default model, pinned for a job's whole stream so a drain or a reload waits for it.
        self._lease = lease
        self._callbacks = callbacks
        self._concurrency = concurrency
        self._renew_s = visibility_timeout_s / 3
        self._workers: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._workers = [
            asyncio.create_task(self._worker(), name=f"job-worker-{i}") for i in range(self._concurrency)
        ]

    async def aclose(self) -> None:
        """Stops the workers; a job cut off here stays claimed and another replica (or this one after a
        restart) takes it over once the visibility timeout passes."""
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(BaseException):
                await task
        self._workers = []

    async def _worker(self) -> None:
        while True:
            try:
                claim = await self._store.claim(_CLAIM_WAIT_S)
                if claim is not None:
                    await self._run(claim)
            except asyncio.CancelledError:
                raise
            except Exception:  # a store outage must not end the loop; the claim is retried later
                log.exception("job worker iteration failed")
                await asyncio.sleep(_CLAIM_WAIT_S)

    async def _run(self, claim: Claim) -> None:
        state = await self._store.state(claim.job_id)
        request = await self._store.request(claim.job_id)
        if state is None or request is None or state.status.finished:
            await self._store.finish(claim)
            return
        if state.segments_total is not None and state.segments_done >= state.segments_total:
            # Its worker died after the last segment: only the final state is missing.
            work = asyncio.create_task(self._conclude(claim.job_id, state.segments_total))
        else:
            work = asyncio.create_task(self._embed(claim.job_id, request, state.segments_done))
        keeper = asyncio.create_task(self._keep(claim, work))
        try:
            await work
        except asyncio.CancelledError:
            if not work.cancelled():
                raise  # this worker is stopping: leave the claim for a takeover
        except ServiceError as error:
            await self._store.complete(
                claim.job_id, JobStatus.FAILED, error=JobError(error.code, error.message)
            )
        except Exception as exc:
            log.exception("job failed unexpectedly", extra={"job": claim.job_id})
            await self._store.complete(
                claim.job_id, JobStatus.FAILED, error=JobError("internal", f"job failed unexpectedly: {exc}")
            )
        finally:
            keeper.cancel()
            with contextlib.suppress(BaseException):
                await keeper
        await self._store.finish(claim)
        final = await self._store.state(claim.job_id)
        if final is not None and request.callback_url:
            await self._callbacks.send(request.callback_url, final)

    async def _keep(self, claim: Claim, work: asyncio.Task[None]) -> None:
        renewed = asyncio.get_running_loop().time()
        while not work.done():
            await asyncio.sleep(_POLL_S)
            state = await self._store.state(claim.job_id)
            if state is None or state.status is JobStatus.CANCELLED:
                work.cancel()
                return
            if asyncio.get_running_loop().time() - renewed >= self._renew_s:
                await self._store.keep_alive(claim)
                renewed = asyncio.get_running_loop().time()

    async def _embed(self, job_id: str, request: JobRequest, first_index: int) -> None:
        total: int | None = None
        with self._lease() as model:
            stream = model.core.embed_video_segments(
                request.item(), request.options, first_index=first_index, api="jobs"
            )
            async with contextlib.aclosing(stream):
                async for out in stream:
                    if total is None:
                        total = out.segments_total
                        await self._store.set_running(job_id, total)
                    if isinstance(out, StreamedSegment):
                        segment = JobSegment(out.index, out.start_s, out.end_s, out.embedding)
                        await self._store.add_segment(job_id, segment)
        await self._conclude(job_id, total)

    async def _conclude(self, job_id: str, total: int | None) -> None:
        stored = await self._store.segments(job_id, 0, total or 0)
        if total is None or len(stored) != total:
            raise ServiceError(f"job ended with {len(stored)} of {total} segments stored")
        vectors = np.stack([s.embedding for s in stored])
        await self._store.complete(job_id, JobStatus.SUCCEEDED, embedding=normalized_mean(vectors))
