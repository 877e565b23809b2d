"""What the front door calls: create, read, page and cancel jobs on behalf of one API key (a job made by
another key answers `job_not_found`, the same as one that never existed), plus the replica's runner."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable

from service.core.model_registry import Lease
from service.errors import JobNotFoundError
from service.jobs.callback import CallbackSender
from service.jobs.models import JobRequest, JobSegment, JobState
from service.jobs.redis_store import RedisJobStore
from service.jobs.runner import JobRunner
from service.jobs.store import JobStore, MemoryJobStore
from service.settings import Settings


class JobService:
    def __init__(self, store: JobStore, runner: JobRunner, callbacks: CallbackSender) -> None:
        self._store = store
        self._runner = runner
        self._callbacks = callbacks

    @classmethod
    def build(cls, settings: Settings, lease: Callable[[], Lease], key_prefix: str) -> JobService:
        store: JobStore
        if settings.redis_url:
            consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            store = RedisJobStore(
                settings.redis_url,
                key_prefix=key_prefix,
                consumer=consumer,
                result_ttl_s=settings.jobs_result_ttl_s,
                visibility_timeout_s=settings.jobs_visibility_timeout_s,
            )
        else:
            store = MemoryJobStore(settings.jobs_result_ttl_s)
        secret = settings.jobs_callback_secret
        callbacks = CallbackSender(
            settings.media_settings(),
            secret.get_secret_value() if secret is not None else None,
            settings.jobs_callback_timeout_s,
        )
        runner = JobRunner(
            store,
            lease,
            callbacks,
            concurrency=settings.jobs_concurrency,
            visibility_timeout_s=settings.jobs_visibility_timeout_s,
        )
        return cls(store, runner, callbacks)

    def start(self) -> None:
        self._runner.start()

    async def aclose(self) -> None:
        await self._runner.aclose()
        await self._store.aclose()

    async def create(self, owner: str, request: JobRequest) -> JobState:
        if request.callback_url is not None:
            self._callbacks.validate(request.callback_url)
        return await self._store.create(uuid.uuid4().hex, owner, request)

    async def get(self, owner: str, job_id: str) -> JobState:
        state = await self._store.state(job_id)
        if state is None or state.owner != owner:
            raise JobNotFoundError(f"no job {job_id!r} for this API key (it may have expired)")
        return state

    async def segments(
        self, owner: str, job_id: str, offset: int, limit: int
    ) -> tuple[JobState, list[JobSegment]]:
        state = await self.get(owner, job_id)
        return state, await self._store.segments(job_id, offset, limit)

    async def cancel(self, owner: str, job_id: str) -> JobState:
        state = await self.get(owner, job_id)
        if not state.status.finished:
            await self._store.cancel(job_id)
        return await self.get(owner, job_id)
