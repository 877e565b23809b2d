"""Typed configuration of the inference core. The server's settings layer builds these from env/CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class BatcherSettings:
    """One dynamic batcher. `max_batch_cost` caps frames (video) or real tokens (text) per batch so long
    inputs cannot blow memory; None means the batch size is the only cap.

    `flush_when_idle`: an idle engine runs what is queued at once and batches form from what arrives
    while it is busy, so `max_queue_delay_ms` is not waited; turn it off to make partial batches wait
    up to `max_queue_delay_ms` for company even when the engine is idle."""

    max_batch_size: int = 8
    max_queue_delay_ms: float = 5.0
    max_queue_size: int = 256
    max_batch_cost: int | None = None
    flush_when_idle: bool = True
    # 1: the next batch is cut only after the previous one is answered; 2: one full batch may wait on the
    # worker thread behind the running one (see service/core/batcher.py). At least `workers`; 0: auto
    # (workers + 1, resolved by service/core/parallelism.py when the core starts).
    max_batches_in_flight: int = 2
    # Worker threads running batches at once on the one (thread-safe) session, like Triton's model
    # instances. With one onnxruntime thread per run, two workers keep two cores busy without the idle
    # core that a two-thread run leaves whenever the event loop preempts one of its threads. 0: auto (one
    # single-threaded run per core on the CPU, one run on a GPU; service/core/parallelism.py).
    workers: int = 1

    @classmethod
    def for_workers(cls, batch_size: int, delay_ms: float, queue_size: int, workers: int) -> BatcherSettings:
        """Set `workers` get one batch more in flight than they run (what auto would give); 0 leaves both
        to auto."""
        return cls(
            max_batch_size=batch_size,
            max_queue_delay_ms=delay_ms,
            max_queue_size=queue_size,
            workers=workers,
            max_batches_in_flight=workers + 1 if workers else 0,
        )

    def __post_init__(self) -> None:
        if self.max_batch_size < 1:
            raise ValueError("max_batch_size must be >= 1")
        if self.max_queue_delay_ms < 0:
            raise ValueError("max_queue_delay_ms must be >= 0")
        if self.max_queue_size < 1:
            raise ValueError("max_queue_size must be >= 1")
        if self.workers < 0:
            raise ValueError("workers must be >= 1, or 0 for auto")
        if self.max_batches_in_flight < 0 or 0 < self.max_batches_in_flight < self.workers:
            raise ValueError("max_batches_in_flight must be >= workers, or 0 for auto")
        if self.max_batch_cost is not None and self.max_batch_cost < 1:
            raise ValueError("max_batch_cost must be >= 1 or None")


@dataclass(frozen=True)
class RuntimeSettings:
    """`device`: "auto" walks TensorRT engine → TensorRT EP → CUDA EP → CPU; "cpu" forces the CPU EP."""

    device: Literal["auto", "cpu"] = "auto"
    device_id: int = 0
    # 0: auto: cores / workers when an encoder on the CPU runs several workers, else onnxruntime's default
    # (service/core/parallelism.py).
    intra_op_threads: int = 0
    # Spinning ORT worker threads steal the cores the event loop and decoders need between batches.
    allow_spinning: bool = False


@dataclass(frozen=True)
class CacheSettings:
    backend: Literal["memory", "redis", "none"] = "memory"
    memory_max_bytes: int = 64 * 1024 * 1024
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout_s: float = 0.05  # a cache slower than this is worth less than recomputing
    ttl_s: float | None = 7 * 24 * 3600.0
    # A URL's content can change at the origin; within this window a repeated URL reuses the old hash.
    url_map_ttl_s: float | None = 300.0
    breaker_failure_threshold: int = 5
    breaker_reset_after_s: float = 5.0
    key_prefix: str = "vp"


@dataclass(frozen=True)
class CoreSettings:
    video_batcher: BatcherSettings = field(default_factory=BatcherSettings)
    text_batcher: BatcherSettings = field(default_factory=lambda: BatcherSettings(max_batch_size=32))
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    default_deadline_s: float = 30.0
    max_texts_per_request: int = 256
    max_text_chars: int = 4096
