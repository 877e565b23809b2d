"""Tracing off (the default): no SDK imported or installed, no interceptor, and span helpers that do nothing;
plus how the standard OpenTelemetry variables switch it on."""

from __future__ import annotations

import logging
import subprocess
import sys

import grpc
import pytest
from opentelemetry import trace

from service.tracing import (
    TracingConfig,
    current_trace_id,
    grpc_server_interceptors,
    record_span,
    recording,
    span,
    tracing_installed,
)
from tests.api.server_thread import ServerThread
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

# Run in a child so that nothing another test imported into this process can hide an import.
_CHILD = """
import os, sys
for name in [n for n in os.environ if n.startswith("OTEL_")]:
    del os.environ[name]
import service.server
from service.tracing import process_tracing
from opentelemetry import trace
with process_tracing(os.environ) as provider:
    assert provider is None, provider
    print(type(trace.get_tracer_provider()).__name__)
    # (redis-py imports the SDK's metrics package by itself when it is installed; tracing is ours.)
    prefixes = ("opentelemetry.sdk.trace", "opentelemetry.exporter", "opentelemetry.instrumentation")
    print(sorted(m for m in sys.modules if m.startswith(prefixes)))
"""


def test_off_imports_and_installs_no_sdk() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=120, check=True
    )
    provider, modules = done.stdout.splitlines()
    assert provider == "ProxyTracerProvider"
    assert modules == "[]"


def test_off_server_answers_traced_callers_without_spans(server: ServerThread) -> None:
    with server.client() as client:
        answer = client.post(
            "/v1/embed/text", json={"texts": ["no tracing here"]}, headers={"traceparent": TRACEPARENT}
        )
    assert answer.status_code == 200 and "error" not in answer.json()["data"][0]
    assert not tracing_installed()
    assert grpc_server_interceptors() == []


async def test_off_grpc_accepts_traceparent_metadata(server: ServerThread) -> None:
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        answer = await stub.EmbedText(
            pb.EmbedTextRequest(texts=["no tracing over grpc"]),
            metadata=(("traceparent", TRACEPARENT),),
            timeout=30,
        )
    assert len(answer.data) == 1 and not answer.data[0].HasField("error")


def test_helpers_do_nothing_without_a_recording_parent() -> None:
    assert not recording()
    with span("decode", **{"video.segments": 3}) as opened:
        assert opened is trace.INVALID_SPAN
        opened.set_attribute("ignored", True)  # harmless on the no-op span
        assert trace.get_current_span() is trace.INVALID_SPAN
    record_span("inference", 0.0, 1.0, **{"batch.size": 4})
    assert current_trace_id() is None


def test_helpers_stay_off_under_a_non_recording_parent() -> None:
    """A sampled-out request carries a valid but non-recording span: nothing is opened under it."""
    context = trace.SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, is_remote=True)
    with trace.use_span(trace.NonRecordingSpan(context)):
        assert current_trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736"
        with span("probe") as opened:
            assert opened is trace.INVALID_SPAN


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            },
            True,
        ),
    ],
)
def test_config_follows_the_standard_variables(environ: dict[str, str], enabled: bool) -> None:
    assert TracingConfig.from_env(environ).enabled is enabled


def test_an_unsupported_protocol_is_refused_with_the_fix(caplog: pytest.LogCaptureFixture) -> None:
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    with caplog.at_level(logging.WARNING, logger="service.tracing"):
        config = TracingConfig.from_env(environ)
    assert not config.enabled
    assert "4318" in caplog.text and "http/protobuf" in caplog.text
