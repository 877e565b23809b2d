"""Resolve `workers = 0` (auto) and `intra_op_threads = 0` (auto) into the numbers the core runs with.

The choice depends on what a clip costs the video encoder (ModelCost: the manifest's FLOPs per clip, else one
timed warm-up run). A big model (a full-size VideoPrism: ~1 TFLOP per clip) gets one run with every usable
core as intra-op threads, and batching: each operator is large enough that onnxruntime's parallel sections
pay off, and one request is served at the speed of the bare runtime instead of one core's (issue 28: 11.0 s
vs 5.3-6.0 s per `base` clip on 2 cores with one single-threaded run per core).

Why a small model gets "one single-threaded run per core" on a small CPU (up to MAX_AUTO_WORKERS runs): with
the small encoders, one onnxruntime run with N threads waits at every parallel section for
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


@dataclass(frozen=True)
class ModelCost:
    """What one clip costs the video encoder: GFLOPs from the manifest, or the seconds of one timed run of
    a single clip with `threads` intra-op threads. Either is enough; FLOPs win when both are known."""

    gflops_per_clip: float | None = None
    seconds_per_clip: float | None = None
    threads: int = 1

    def is_big(self) -> bool:
        if self.gflops_per_clip is not None:
            return self.gflops_per_clip >= BIG_MODEL_GFLOPS
        if self.seconds_per_clip is not None:
            # Core-seconds, so the verdict does not depend on how many threads the timed run had.
            return self.seconds_per_clip * max(1, self.threads) >= BIG_MODEL_CORE_SECONDS
        return False


# A clip above either bound is "big": its operators are wide enough that all cores in one run beat one
# single-threaded run per core. The demo model (4 M parameters) is far below both; `base` (~1.1 TFLOP, ~10
# core-seconds per clip) far above. Between the two orders of magnitude the choice matters little.
BIG_MODEL_GFLOPS = 20.0
BIG_MODEL_CORE_SECONDS = 0.2

# A big model on the CPU runs a batch one clip at a time (service/core/engines.py, `max_items_per_run`).
# Its operators already fill every core at one clip, so batching buys no throughput (`base`, 2 cores: 0.140
# clips/s at batch 1, 0.132 at batch 8), while onnxruntime's activations grow ~0.4 GiB per clip: batch-8 runs
# put the server at 3.7 GiB, one-clip runs keep it near the model's own size (issue 28).
BIG_MODEL_CLIPS_PER_RUN = 1

# Idle workers split the queue between them, so a large auto count would cut the load into tiny batches;
# beyond this many runs, each run gets more threads instead.
MAX_AUTO_WORKERS = 4


def needs_cost(settings: CoreSettings, placement: Placement) -> bool:
    """Whether the choice depends on the model's cost: only when the video encoder runs on the CPU and
    both its worker count and the intra-op threads are auto."""
    return (
        placement.video_on_cpu
        and settings.video_batcher.workers == 0
        and settings.runtime.intra_op_threads == 0
    )


def resolve_parallelism(
    settings: CoreSettings, placement: Placement, cores: int, cost: ModelCost | None = None
) -> CoreSettings:
    """`settings` with every auto (0) worker count and intra-op thread count made concrete.

    Explicit values are kept. A big model (`cost.is_big()`, see `needs_cost`): one video run with `cores`
    intra-op threads; auto text workers then share those threads (one run). Otherwise: Auto workers on the CPU: one per core up to MAX_AUTO_WORKERS (cores //
    intra-op threads when those are set). Auto intra-op threads, when an encoder on the CPU runs several
    workers: cores // its workers, so the runs together fill the machine without oversubscribing it;
    otherwise onnxruntime's default. Auto `max_batches_in_flight` (0) becomes workers + 1, so one full batch
    can wait behind the runs. On a GPU auto workers are 1."""
    cores = max(1, cores)
    explicit_threads = settings.runtime.intra_op_threads
    if cost is not None and cost.is_big() and placement.video_on_cpu:
        # Each queued clip is its own batch: a batch would run one clip at a time anyway, and one worker
        # holding a batch of eight would leave the other workers (VIDEOPRISM_VIDEO_WORKERS > 1) idle.
        one_clip = min(settings.video_batcher.max_batch_size, BIG_MODEL_CLIPS_PER_RUN)
        settings = dataclasses.replace(
            settings, video_batcher=dataclasses.replace(settings.video_batcher, max_batch_size=one_clip)
        )
    if cost is not None and cost.is_big() and needs_cost(settings, placement):
        explicit_threads = cores
        settings = dataclasses.replace(
            settings,
            video_batcher=dataclasses.replace(settings.video_batcher, workers=1),
            runtime=dataclasses.replace(settings.runtime, intra_op_threads=cores),
        )

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
