"""Jobs in Redis, shared by every replica: a Stream with one consumer group is the queue, a hash per job
holds its state, and a hash per job holds its results by segment index.

Takeover uses the Stream's own bookkeeping: a worker renews its entry (XCLAIM of its own entry resets its
idle time) while it runs the job; an entry idle longer than the visibility timeout belongs to a dead
worker, and the next `claim` anywhere takes it with XAUTOCLAIM. The new worker resumes after the last
stored index; results are written with HSET by index, so a segment done twice is still stored once.
Cancellation is a flag of its own (`cancel`) that no worker write touches, so it cannot be lost in a race.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from service.jobs.models import JobError, JobRequest, JobSegment, JobState, JobStatus
from service.jobs.store import Claim

_GROUP = "workers"


class RedisJobStore:
    def __init__(
        self, url: str, *, key_prefix: str, consumer: str, result_ttl_s: float, visibility_timeout_s: float
    ) -> None:
        self._redis = aioredis.Redis.from_url(url, decode_responses=False)
        self._prefix = key_prefix
        self._queue = f"{key_prefix}:jobs:queue"
        self._consumer = consumer
        self._ttl_s = int(max(1, result_ttl_s))
        self._idle_ms = int(visibility_timeout_s * 1000)
        self._group_ready = False

    def _job(self, job_id: str) -> str:
        return f"{self._prefix}:job:{job_id}"

    def _results(self, job_id: str) -> str:
        return f"{self._prefix}:job:{job_id}:segments"

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self._queue, _GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def create(self, job_id: str, owner: str, request: JobRequest) -> JobState:
        await self._ensure_group()
        created = time.time()
        await self._redis.hset(
            self._job(job_id),
            mapping={
                "owner": owner,
                "status": JobStatus.QUEUED.value,
                "created_at": repr(created),
                "request": request.to_json(),
            },
        )
        await self._redis.xadd(self._queue, {"job": job_id})
        return JobState(job_id, owner, JobStatus.QUEUED, 0, None, created)

    async def state(self, job_id: str) -> JobState | None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(
                self._job(job_id),
                [
                    "owner",
                    "status",
                    "total",
                    "created_at",
                    "error_code",
                    "error_message",
                    "embedding",
                    "cancel",
                ],
            )
            pipe.hlen(self._results(job_id))
            (owner, status, total, created, code, message, embedding, cancel), done = await pipe.execute()
        if owner is None:
            return None
        state = JobStatus(status.decode())
        if cancel and not state.finished:
            state = JobStatus.CANCELLED
        return JobState(
            job_id,
            owner.decode(),
            state,
            int(done),
            int(total) if total is not None else None,
            float(created),
            JobError(code.decode(), (message or b"").decode()) if code else None,
            np.frombuffer(embedding, dtype="<f4").astype(np.float32) if embedding else None,
        )

    async def request(self, job_id: str) -> JobRequest | None:
        raw: Any = await self._redis.hget(self._job(job_id), "request")
        return JobRequest.from_json(raw.decode()) if raw is not None else None

    async def claim(self, wait_s: float) -> Claim | None:
        await self._ensure_group()
        claimed: Any = await self._redis.xautoclaim(
            self._queue, _GROUP, self._consumer, min_idle_time=self._idle_ms, start_id="0-0", count=1
        )
        stale = claimed[1]
        if stale:
            entry_id, fields = stale[0]
            return Claim(fields[b"job"].decode(), entry_id.decode())
        # redis-py's stubs type replies as unions of every protocol's shape; these are RESP2 lists.
        got: Any = await self._redis.xreadgroup(
            _GROUP, self._consumer, {self._queue: ">"}, count=1, block=max(1, int(wait_s * 1000))
        )
        if not got:
            return None
        entry_id, fields = got[0][1][0]
        return Claim(fields[b"job"].decode(), entry_id.decode())

    async def keep_alive(self, claim: Claim) -> None:
        await self._redis.xclaim(
            self._queue, _GROUP, self._consumer, min_idle_time=0, message_ids=[claim.ticket], justid=True
        )

    async def finish(self, claim: Claim) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._queue, _GROUP, claim.ticket)
            pipe.xdel(self._queue, claim.ticket)
            await pipe.execute()

    async def set_running(self, job_id: str, segments_total: int) -> None:
        await self._redis.hset(
            self._job(job_id), mapping={"status": JobStatus.RUNNING.value, "total": segments_total}
        )

    async def cancel(self, job_id: str) -> None:
        await self._redis.hset(self._job(job_id), "cancel", 1)

    async def add_segment(self, job_id: str, segment: JobSegment) -> None:
        await self._redis.hset(self._results(job_id), str(segment.index), segment.encode())

    async def segments(self, job_id: str, offset: int, limit: int) -> list[JobSegment]:
        indices = list(range(offset, offset + limit))
        values: Any = await self._redis.hmget(self._results(job_id), [str(i) for i in indices])
        return [JobSegment.decode(i, v) for i, v in zip(indices, values, strict=True) if v is not None]

    async def complete(
        self,
        job_id: str,
        status: JobStatus,
        *,
        error: JobError | None = None,
        embedding: npt.NDArray[np.float32] | None = None,
    ) -> None:
        fields: dict[str, str | bytes] = {"status": status.value}
        if error is not None:
            fields |= {"error_code": error.code, "error_message": error.message}
        if embedding is not None:
            fields["embedding"] = np.asarray(embedding, dtype="<f4").tobytes()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._job(job_id), mapping=fields)  # type: ignore[arg-type]
            pipe.expire(self._job(job_id), self._ttl_s)
            pipe.expire(self._results(job_id), self._ttl_s)
            await pipe.execute()

    async def aclose(self) -> None:
        await self._redis.aclose()
