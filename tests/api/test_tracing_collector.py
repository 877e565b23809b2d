"""An in-process OTLP/HTTP trace collector for the tracing tests, checked here against the SDK's own exporter
(a private provider, never the process's: no global state leaks into other tests)."""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from dataclasses import dataclass

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

SERVER = 2  # SPAN_KIND_SERVER in OTLP


@dataclass(frozen=True)
class ExportedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    attributes: dict[str, object]
    service_name: str


class Collector:
    """An OTLP/HTTP trace receiver on loopback: decodes each `/v1/traces` export into `ExportedSpan`s."""

    def __init__(self) -> None:
        self.spans: list[ExportedSpan] = []
        self._lock = threading.Lock()
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces":
                    self.send_error(404)
                    return
                collector.add(ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def add(self, request: ExportTraceServiceRequest) -> None:
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for raw in scope_spans.spans:
                    attributes: dict[str, object] = {}
                    for attribute in raw.attributes:
                        value = attribute.value
                        field = value.WhichOneof("value")
                        attributes[attribute.key] = getattr(value, field) if field else None
                    span = ExportedSpan(
                        raw.name,
                        raw.trace_id.hex(),
                        raw.span_id.hex(),
                        raw.parent_span_id.hex(),
                        raw.kind,
                        attributes,
                        resource.get("service.name", ""),
                    )
                    with self._lock:
                        self.spans.append(span)

    def trace(self, trace_id: str) -> list[ExportedSpan]:
        with self._lock:
            return [span for span in self.spans if span.trace_id == trace_id]

    def wait_for(self, trace_id: str, names: set[str], timeout_s: float = 20.0) -> list[ExportedSpan]:
        """The trace's spans once it holds `names` and its root (the server span, ended last and so
        possibly exported in a later batch than its children), or whatever came by the timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            spans = self.trace(trace_id)
            ids = {span.span_id for span in spans}
            rooted = any(span.parent_span_id not in ids and span.kind == SERVER for span in spans)
            if (names <= {span.name for span in spans} and rooted) or time.monotonic() > deadline:
                return spans
            time.sleep(0.05)

    def close(self) -> None:
        self._server.shutdown()


def test_collector_decodes_what_the_sdk_exporter_sends() -> None:
    collector = Collector()
    provider = TracerProvider(resource=Resource({"service.name": "collector-check"}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{collector.endpoint}/v1/traces"))
    )
    tracer = provider.get_tracer("collector-check")
    try:
        with (
            tracer.start_as_current_span("request", kind=SpanKind.SERVER) as request,
            tracer.start_as_current_span("child", attributes={"batch.size": 3, "cache.hit": False}),
        ):
            pass
        trace_id = format(request.get_span_context().trace_id, "032x")
        spans = collector.wait_for(trace_id, {"request", "child"}, timeout_s=10)
    finally:
        provider.shutdown()
        collector.close()
    named = {span.name: span for span in spans}
    assert named["child"].parent_span_id == named["request"].span_id
    assert named["request"].parent_span_id == "" and named["request"].kind == SERVER
    assert named["child"].attributes == {"batch.size": 3, "cache.hit": False}
    assert named["child"].service_name == "collector-check"
