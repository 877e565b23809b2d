"""Closed- and open-loop drivers around any `send(i) -> outcome` coroutine.

Closed loop: `concurrency` workers, each sends its next request when the previous one answers.
Open loop: request i is due at `t0 + i / rate` whatever happened before. Its latency is measured from that
due time, not from when the generator got round to sending it, so a stalled server is charged for the time
requests waited to be sent (the "coordinated omission" a closed loop hides).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.loadgen.stats import Summary, summarize

Send = Callable[
    [int], Awaitable[str]
]  # returns an outcome label: "200", "429", "grpc:UNAVAILABLE", "error:X"
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Sample:
    due_s: float  # when the request should have gone out (open loop) or went out (closed loop), run-relative
    end_s: float
    outcome: str

    @property
    def latency_s(self) -> float:
        return self.end_s - self.due_s


@dataclass
class RunResult:
    mode: str  # "closed" | "open"
    duration_s: float
    concurrency: int | None = None
    offered_rps: float | None = None
    samples: list[Sample] = field(default_factory=list)
    not_sent: int = 0  # open loop: due requests dropped because `max_in_flight` was reached

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.samples:
            counts[s.outcome] = counts.get(s.outcome, 0) + 1
        return counts

    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.outcome.startswith("2")]

    def throughput_rps(self) -> float:
        """Successful answers per second of the run."""
        return len(self.ok()) / self.duration_s if self.duration_s > 0 else math.nan

    def summary(self) -> Summary:
        """Latency of the successful answers only."""
        return summarize([s.latency_s for s in self.ok()])

    def series(self, bucket_s: float = 1.0) -> list[dict[str, float]]:
        """Per-bucket completions, successes and p99 latency, by completion time: the curves of a soak."""
        buckets: dict[int, list[Sample]] = {}
        for s in self.samples:
            buckets.setdefault(int(s.end_s // bucket_s), []).append(s)
        rows = []
        for key in sorted(buckets):
            group = buckets[key]
            ok = [s.latency_s for s in group if s.outcome.startswith("2")]
            rows.append(
                {
                    "t_s": key * bucket_s,
                    "done": len(group),
                    "ok_rps": len(ok) / bucket_s,
                    "p50_ms": summarize(ok).p50_ms,
                    "p99_ms": summarize(ok).p99_ms,
                }
            )
        return rows

    def to_json(self) -> dict[str, object]:
        s = self.summary()
        return {
            "mode": self.mode,
            "concurrency": self.concurrency,
            "offered_rps": self.offered_rps,
            "duration_s": self.duration_s,
            "requests": len(self.samples),
            "not_sent": self.not_sent,
            "outcomes": self.outcomes(),
            "throughput_rps": self.throughput_rps(),
            "mean_ms": s.mean_ms,
            "p50_ms": s.p50_ms,
            "p95_ms": s.p95_ms,
            "p99_ms": s.p99_ms,
            "max_ms": s.max_ms,
        }


async def _timed(send: Send, index: int, due: float, t0: float, clock: Clock, out: list[Sample]) -> None:
    try:
        outcome = await send(index)
    except Exception as exc:  # a client-side failure is an outcome to count, not a reason to stop the run
        outcome = f"error:{type(exc).__name__}"
    out.append(Sample(due_s=due - t0, end_s=clock() - t0, outcome=outcome))


async def closed_loop(
    send: Send,
    concurrency: int,
    duration_s: float,
    *,
    warmup_s: float = 0.0,
    clock: Clock = time.perf_counter,
) -> RunResult:
    """`concurrency` workers back to back for `duration_s` (after an unrecorded `warmup_s`)."""
    samples: list[Sample] = []
    counter = iter(range(1 << 62))
    t0 = clock()
    record_from = t0 + warmup_s
    stop_at = record_from + duration_s

    async def worker() -> None:
        while clock() < stop_at:
            start = clock()
            bucket: list[Sample] = []
            await _timed(send, next(counter), start, record_from, clock, bucket)
            if start >= record_from:
                samples.extend(bucket)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return RunResult("closed", duration_s, concurrency=concurrency, samples=samples)


async def open_loop(
    send: Send,
    rate_rps: float,
    duration_s: float,
    *,
    max_in_flight: int = 10_000,
    clock: Clock = time.perf_counter,
    sleep: Sleep = asyncio.sleep,
) -> RunResult:
    """Requests due at a fixed rate for `duration_s`; waits for the stragglers, then returns.

    A request whose due time passed while the generator was busy is sent at once with its original due
    time. `max_in_flight` only protects the generator's own memory: requests over it are counted in
    `not_sent` (and reported), never silently skipped.
    """
    samples: list[Sample] = []
    pending: set[asyncio.Task[None]] = set()
    total = int(rate_rps * duration_s)
    not_sent = 0
    t0 = clock()
    for index in range(total):
        due = t0 + index / rate_rps
        delay = due - clock()
        if delay > 0:
            await sleep(delay)
        if len(pending) >= max_in_flight:
            not_sent += 1
            continue
        task = asyncio.create_task(_timed(send, index, due, t0, clock, samples))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)
    return RunResult("open", duration_s, offered_rps=rate_rps, samples=samples, not_sent=not_sent)
