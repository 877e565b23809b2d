"""Metrics hooks: the core reports events to a `CoreMetrics` object; it never touches Prometheus itself.

`PrometheusMetrics` owns a per-instance `CollectorRegistry` (no process-global state), so several cores
and test cases can coexist; the front doors expose `registry` on their /metrics endpoint.
"""

from __future__ import annotations

import signal
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, ProcessCollector

from service.core.types import ModelInfo

PREFIX = "videoprism"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
_COST_BUCKETS = (1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)


class CoreMetrics(Protocol):
    def request_finished(self, api: str, method: str, code: str, seconds: float) -> None: ...
    def queue_wait(self, kind: str, seconds: float) -> None: ...
    def batch_ran(self, kind: str, size: int, cost: int, seconds: float) -> None: ...
    def queue_depth(self, kind: str, depth: int) -> None: ...
    def fetch_finished(self, seconds: float, nbytes: int) -> None: ...
    def decode_finished(self, seconds: float) -> None: ...
    def cache_lookup(self, backend: str, hit: bool) -> None: ...
    def cache_error(self, backend: str) -> None: ...
    def model_loaded(self, info: ModelInfo) -> None: ...


class NullMetrics:
    """Discards everything; for embedded use and tests that do not look at metrics."""

    def request_finished(self, api: str, method: str, code: str, seconds: float) -> None:
        pass

    def queue_wait(self, kind: str, seconds: float) -> None:
        pass

    def batch_ran(self, kind: str, size: int, cost: int, seconds: float) -> None:
        pass

    def queue_depth(self, kind: str, depth: int) -> None:
        pass

    def fetch_finished(self, seconds: float, nbytes: int) -> None:
        pass

    def decode_finished(self, seconds: float) -> None:
        pass

    def cache_lookup(self, backend: str, hit: bool) -> None:
        pass

    def cache_error(self, backend: str) -> None:
        pass

    def model_loaded(self, info: ModelInfo) -> None:
        pass


class PrometheusMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r, p = self.registry, PREFIX

        # Counts are split by door, method and result code, durations by door and method only.
        def counted(name: str, documentation: str) -> Counter:
            return Counter(f"{p}_{name}", documentation, ["api", "method", "code"], registry=r)

        def timed(name: str, documentation: str) -> Histogram:
            return Histogram(
                f"{p}_{name}", documentation, ["api", "method"], buckets=_LATENCY_BUCKETS, registry=r
            )

        # One meaning each: `requests` counts front-door requests (an HTTP request, a gRPC call) whatever
        # they carry; `core_calls` counts the core's units of work (one per video, one per text request).
        self.requests = counted(
            "requests",
            "Front-door requests (one per HTTP request or gRPC call) by door, method and result code.",
        )
        self.errors = counted("errors", "Failed front-door requests by door, method and error code.")
        self.request_seconds = timed(
            "request_duration_seconds",
            "Front-door request time, from admission to the last byte of the answer.",
        )
        self.in_flight = Gauge(
            f"{p}_requests_in_flight", "Front-door requests admitted and not yet answered.", registry=r
        )
        self.core_calls = counted(
            "core_calls",
            "Core work items (one per video of a request, one per text request) by door, method and code.",
        )
        self.core_seconds = timed("core_call_duration_seconds", "Time of one core work item.")
        self.decoder_crashes = Counter(
            f"{p}_decoder_crashes",
            "ffmpeg children that died of a signal the service did not send, by signal name.",
            ["signal"],
            registry=r,
        )
        ProcessCollector(registry=r)  # process_* series: memory, CPU, open descriptors
        self.queue_wait_seconds = Histogram(
            f"{p}_queue_wait_seconds",
            "Time an item waited in a batcher queue.",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.inference_seconds = Histogram(
            f"{p}_inference_duration_seconds",
            "Time to run one batch.",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.fetch_seconds = Histogram(
            f"{p}_fetch_duration_seconds", "Media download time.", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.decode_seconds = Histogram(
            f"{p}_decode_duration_seconds", "Media decode time.", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.batch_size = Histogram(
            f"{p}_batch_size", "Items per batch.", ["kind"], buckets=_SIZE_BUCKETS, registry=r
        )
        # One unit per family: frames and tokens do not add up.
        self.batch_frames = Histogram(
            f"{p}_batch_cost_frames", "Frames per video batch.", buckets=_COST_BUCKETS, registry=r
        )
        self.batch_tokens = Histogram(
            f"{p}_batch_cost_tokens",
            "Real (unpadded) tokens per text batch.",
            buckets=_COST_BUCKETS,
            registry=r,
        )
        self.queue_depth_gauge = Gauge(
            f"{p}_queue_depth", "Items waiting in a batcher queue.", ["kind"], registry=r
        )
        self.cache_requests = Counter(
            f"{p}_cache_requests", "Cache lookups by backend and result.", ["backend", "result"], registry=r
        )
        self.cache_errors = Counter(
            f"{p}_cache_errors",
            "Cache operations that failed (served without cache).",
            ["backend"],
            registry=r,
        )
        self.fetched_bytes = Counter(f"{p}_fetched_bytes", "Bytes of media downloaded.", registry=r)
        self.model_info = Info(
            f"{p}_model", "The served bundle and the runtime each encoder runs on.", registry=r
        )

    def front_door_finished(self, api: str, method: str, code: str, seconds: float) -> None:
        """One answered front-door request; called by the HTTP middleware and the gRPC interceptor."""
        self.requests.labels(api, method, code).inc()
        if code != "ok":
            self.errors.labels(api, method, code).inc()
        self.request_seconds.labels(api, method).observe(seconds)

    def request_finished(self, api: str, method: str, code: str, seconds: float) -> None:
        self.core_calls.labels(api, method, code).inc()
        self.core_seconds.labels(api, method).observe(seconds)

    def queue_wait(self, kind: str, seconds: float) -> None:
        self.queue_wait_seconds.labels(kind).observe(seconds)

    def batch_ran(self, kind: str, size: int, cost: int, seconds: float) -> None:
        self.batch_size.labels(kind).observe(size)
        (self.batch_frames if kind == "video" else self.batch_tokens).observe(cost)
        self.inference_seconds.labels(kind).observe(seconds)

    def queue_depth(self, kind: str, depth: int) -> None:
        self.queue_depth_gauge.labels(kind).set(depth)

    def fetch_finished(self, seconds: float, nbytes: int) -> None:
        self.fetch_seconds.observe(seconds)
        self.fetched_bytes.inc(nbytes)

    def decode_finished(self, seconds: float) -> None:
        self.decode_seconds.observe(seconds)

    def cache_lookup(self, backend: str, hit: bool) -> None:
        self.cache_requests.labels(backend, "hit" if hit else "miss").inc()

    def cache_error(self, backend: str) -> None:
        self.cache_errors.labels(backend).inc()

    def decoder_crashed(self, signal_number: int) -> None:
        try:
            name = signal.Signals(signal_number).name
        except ValueError:
            name = str(signal_number)
        self.decoder_crashes.labels(name).inc()

    def model_loaded(self, info: ModelInfo) -> None:
        self.model_info.info(
            {
                "model_name": info.model_name,
                "model_version": info.model_version,
                "bundle_id": info.bundle_id,
                "embedding_dim": str(info.embedding_dim),
                "video_runtime": f"{info.video.runtime}/{info.video.provider}",
                "text_runtime": f"{info.text.runtime}/{info.text.provider}" if info.text else "none",
            }
        )
