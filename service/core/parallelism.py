"""Resolve `workers = 0` (auto) and `intra_op_threads = 0` (auto) into the numbers the core runs with.

Why auto means "one single-threaded run per core" on a small CPU (up to MAX_AUTO_WORKERS runs): with the
small encoders this service ships, one onnxruntime run with N threads waits at every parallel section for
all N, so whenever the event loop or a decoder preempts one of them a core idles. N runs with one thread
each keep every core busy: on the 2-core development machine that engine alone is 1.6-1.7x faster than one
run with onnxruntime's threads, and the served throughput at concurrency 128 rises by about a third
(docs/inference-core.md). On a GPU one run at a time feeds the device; more would only contend for it, so
auto means one worker there.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from service.core.settings import BatcherSettings, CoreSettings


@dataclass(frozen=True)
class Placement:
    """Where each encoder will run: True for onnxruntime's CPU execution provider."""

    video_on_cpu: bool
    text_on_cpu: bool


# Idle workers split the queue between them, so a large auto count would cut the load into tiny batches;
# beyond this many runs, each run gets more threads instead.
MAX_AUTO_WORKERS = 4


def resolve_parallelism(settings: CoreSettings, placement: Placement, cores: int) -> CoreSettings:
    """`settings` with every auto (0) worker count and intra-op thread count made concrete.

    Explicit values are kept. Auto workers on the CPU: one per core up to MAX_AUTO_WORKERS (cores //
    intra-op threads when those are set). Auto intra-op threads, when an encoder on the CPU runs several
    workers: cores // its workers, so the runs together fill the machine without oversubscribing it;
    otherwise onnxruntime's default. Auto `max_batches_in_flight` (0) becomes workers + 1, so one full batch
    can wait behind the runs. On a GPU auto workers are 1."""
    cores = max(1, cores)
    explicit_threads = settings.runtime.intra_op_threads

    def workers(b: BatcherSettings, on_cpu: bool) -> int:
        if b.workers:
            return b.workers
        if not on_cpu:
            return 1
        per_run = explicit_threads or 1
        return min(MAX_AUTO_WORKERS, max(1, cores // per_run))

    video_workers = workers(settings.video_batcher, placement.video_on_cpu)
    text_workers = workers(settings.text_batcher, placement.text_on_cpu)
    threads = explicit_threads
    cpu_workers = [
        w for w, on in ((video_workers, placement.video_on_cpu), (text_workers, placement.text_on_cpu)) if on
    ]
    if threads == 0 and cpu_workers and max(cpu_workers) > 1:
        threads = max(1, cores // max(cpu_workers))

    def batcher(b: BatcherSettings, resolved: int) -> BatcherSettings:
        in_flight = b.max_batches_in_flight or resolved + 1
        return dataclasses.replace(b, workers=resolved, max_batches_in_flight=max(in_flight, resolved))

    return dataclasses.replace(
        settings,
        video_batcher=batcher(settings.video_batcher, video_workers),
        text_batcher=batcher(settings.text_batcher, text_workers),
        runtime=dataclasses.replace(settings.runtime, intra_op_threads=threads),
    )


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity). A Kubernetes CPU limit is a quota, not an
    affinity, and is not seen here: set the worker counts explicitly under one."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
