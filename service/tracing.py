"""OpenTelemetry tracing: the process's tracer provider, and the spans the pipelines open.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set. Off means no SDK
is imported and no provider is installed: the API's no-op provider stays, FastAPI and the gRPC door add no
span, and `span()` / `record_span()` return after one context lookup, because they open a span only under
a recording parent (the door's request span). The SDK reads the rest of the standard variables itself:
`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER(_ARG)`, `OTEL_BSP_*`, the exporter's
headers and timeouts. Incoming `traceparent` / `tracestate` (W3C trace context) are read by FastAPI's own
telemetry on HTTP and by the official gRPC server interceptor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from service import __version__

if TYPE_CHECKING:
    import grpc
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)

__all__ = [
    "AttributeValue",
    "TracingConfig",
    "current_trace_id",
    "grpc_server_interceptors",
    "install_provider",
    "process_tracing",
    "record_span",
    "recording",
    "span",
    "tracing_installed",
]

ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROTOCOL_VARS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
SUPPORTED_PROTOCOL = "http/protobuf"
DEFAULT_SERVICE_NAME = "videoprism-service"
TRACER_NAME = "videoprism.service"
_NOT_TRACED: AbstractContextManager[trace.Span] = nullcontext(trace.INVALID_SPAN)


@dataclass(frozen=True)
class TracingConfig:
    """Whether this process exports traces, decided from the standard OpenTelemetry variables."""

    enabled: bool
    endpoint: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TracingConfig:
        endpoint = next((environ[name] for name in ENDPOINT_VARS if environ.get(name)), None)
        if endpoint is None:
            return cls(enabled=False)
        if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return cls(enabled=False)
        if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
            return cls(enabled=False)
        protocol = next((environ[name] for name in PROTOCOL_VARS if environ.get(name)), SUPPORTED_PROTOCOL)
        if protocol.strip().lower() != SUPPORTED_PROTOCOL:
            # The gRPC exporter is not part of the serving install; exporting nothing is safer than
            # sending HTTP to a gRPC port, and the warning names the fix.
            log.warning(
                "tracing is off: OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported; this server exports "
                "OTLP over http/protobuf, so point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's HTTP "
                "receiver (port 4318) and unset the protocol",
                protocol,
            )
            return cls(enabled=False)
        return cls(enabled=True, endpoint=endpoint)


def install_provider(config: TracingConfig) -> TracerProvider | None:
    """Installs the SDK provider with a batching OTLP/HTTP exporter as the process's provider; None when
    tracing is off. OpenTelemetry allows one provider per process, so a second call returns the first."""
    if not config.enabled:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    resource = Resource.create({SERVICE_VERSION: __version__})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    # The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based, always on).
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("tracing on", extra={"otlp_endpoint": config.endpoint})
    return provider


@contextmanager
def process_tracing(environ: Mapping[str, str]) -> Iterator[TracerProvider | None]:
    """Tracing for one server process: installed on entry, flushed and shut down on exit, so the spans
    of the last requests before a drain reach the collector."""
    provider = install_provider(TracingConfig.from_env(environ))
    try:
        yield provider
    finally:
        if provider is not None:
            provider.shutdown()


def tracing_installed() -> bool:
    """True when an SDK provider (not the API's no-op or proxy) serves this process."""
    provider = trace.get_tracer_provider()
    return not isinstance(provider, trace.NoOpTracerProvider | trace.ProxyTracerProvider)


def grpc_server_interceptors() -> list[grpc.aio.ServerInterceptor]:
    """The official OpenTelemetry gRPC server interceptor while tracing is on (it must run outermost so the
    call's span is current in every other interceptor and the servicer); none when off."""
    if not tracing_installed():
        return []
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    interceptor: grpc.aio.ServerInterceptor = aio_server_interceptor()
    return [interceptor]


def recording() -> bool:
    """True inside a request whose trace is being recorded (tracing on and the request sampled)."""
    return trace.get_current_span().is_recording()


def span(name: str, **attributes: AttributeValue) -> AbstractContextManager[trace.Span]:
    """A child span of the current one, made current for the block; a no-op (yielding a non-recording
    span, so `set_attribute` on it is harmless) unless the current span records. Attribute names use
    dots in OpenTelemetry, so pass them as `**{"cache.hit": True}`."""
    if not trace.get_current_span().is_recording():
        return _NOT_TRACED
    return trace.get_tracer(TRACER_NAME).start_as_current_span(name, attributes=attributes)


def record_span(name: str, start: float, end: float, **attributes: AttributeValue) -> None:
    """A child span of the current one for an interval measured elsewhere (a batch that ran on a worker
    thread for several requests at once); `start` and `end` are `time.monotonic()` values."""
    if not trace.get_current_span().is_recording():
        return
    now_ns, now = time.time_ns(), time.monotonic()
    start_ns = now_ns - int((now - start) * 1e9)
    child = trace.get_tracer(TRACER_NAME).start_span(name, start_time=start_ns, attributes=attributes)
    child.end(end_time=max(start_ns, now_ns - int((now - end) * 1e9)))


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits (what tracing backends search by), or None outside a trace."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
