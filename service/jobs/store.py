"""Where jobs live: the queue, per-job state and per-segment results. `MemoryJobStore` keeps them in this
process (the embedded default); `RedisJobStore` shares them between replicas."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from service.jobs.models import JobError, JobRequest, JobSegment, JobState, JobStatus


@dataclass(frozen=True)
class Claim:
    """A job this worker took from the queue; `ticket` is what `finish` and `keep_alive` refer to."""

    job_id: str
    ticket: str


class JobStore(Protocol):
    async def create(self, job_id: str, owner: str, request: JobRequest) -> JobState: ...

    async def state(self, job_id: str) -> JobState | None: ...

    async def request(self, job_id: str) -> JobRequest | None: ...

    async def claim(self, wait_s: float) -> Claim | None:
        """The next queued job (or one whose worker stopped renewing it), or None after `wait_s`."""
        ...

    async def keep_alive(self, claim: Claim) -> None:
        """Tells the queue this worker still runs `claim`, so no other replica takes it over."""
        ...

    async def finish(self, claim: Claim) -> None:
        """Removes the job from the queue: nobody runs it again."""
        ...

    async def set_running(self, job_id: str, segments_total: int) -> None: ...

    async def cancel(self, job_id: str) -> None:
        """Marks the job cancelled; its worker sees it within its poll interval and stops the work."""
        ...

    async def add_segment(self, job_id: str, segment: JobSegment) -> None:
        """Stores segment `segment.index`; writing the same index twice keeps one copy."""
        ...

    async def segments(self, job_id: str, offset: int, limit: int) -> list[JobSegment]: ...

    async def complete(
        self,
        job_id: str,
        status: JobStatus,
        *,
        error: JobError | None = None,
        embedding: npt.NDArray[np.float32] | None = None,
    ) -> None:
        """Final status; state and results then expire after the result TTL."""
        ...

    async def aclose(self) -> None: ...


@dataclass
class _Job:
    state: JobState
    request: JobRequest
    results: dict[int, JobSegment] = field(default_factory=dict)
    expires_at: float | None = None


class MemoryJobStore:
    def __init__(self, result_ttl_s: float) -> None:
        self._ttl = result_ttl_s
        self._jobs: dict[str, _Job] = {}
        self._queue: asyncio.Queue[str] = asyncio.Queue()

    def _live(self, job_id: str) -> _Job | None:
        job = self._jobs.get(job_id)
        if job is not None and job.expires_at is not None and job.expires_at <= time.monotonic():
            del self._jobs[job_id]
            return None
        return job

    async def create(self, job_id: str, owner: str, request: JobRequest) -> JobState:
        for stale in [k for k, j in self._jobs.items() if j.expires_at and j.expires_at <= time.monotonic()]:
            del self._jobs[stale]
        state = JobState(job_id, owner, JobStatus.QUEUED, 0, None, time.time())
        self._jobs[job_id] = _Job(state, request)
        self._queue.put_nowait(job_id)
        return state

    async def state(self, job_id: str) -> JobState | None:
        job = self._live(job_id)
        if job is None:
            return None
        return replace(job.state, segments_done=len(job.results))

    async def request(self, job_id: str) -> JobRequest | None:
        job = self._live(job_id)
        return job.request if job is not None else None

    async def claim(self, wait_s: float) -> Claim | None:
        try:
            job_id = await asyncio.wait_for(self._queue.get(), wait_s)
        except TimeoutError:
            return None
        return Claim(job_id, job_id)

    async def keep_alive(self, claim: Claim) -> None:
        return None  # one process: a job is never taken over

    async def finish(self, claim: Claim) -> None:
        return None

    async def set_running(self, job_id: str, segments_total: int) -> None:
        if (job := self._live(job_id)) is not None and not job.state.status.finished:
            job.state = replace(job.state, status=JobStatus.RUNNING, segments_total=segments_total)

    async def cancel(self, job_id: str) -> None:
        await self.complete(job_id, JobStatus.CANCELLED)

    async def add_segment(self, job_id: str, segment: JobSegment) -> None:
        if (job := self._live(job_id)) is not None:
            job.results[segment.index] = segment

    async def segments(self, job_id: str, offset: int, limit: int) -> list[JobSegment]:
        job = self._live(job_id)
        if job is None:
            return []
        return [job.results[i] for i in range(offset, offset + limit) if i in job.results]

    async def complete(
        self,
        job_id: str,
        status: JobStatus,
        *,
        error: JobError | None = None,
        embedding: npt.NDArray[np.float32] | None = None,
    ) -> None:
        if (job := self._live(job_id)) is None or job.state.status.finished:
            return
        job.state = replace(job.state, status=status, error=error, embedding=embedding)
        job.expires_at = time.monotonic() + self._ttl

    async def aclose(self) -> None:
        self._jobs.clear()
