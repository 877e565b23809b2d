"""Retries: 429/503 answers (HTTP) and RESOURCE_EXHAUSTED with ErrorInfo (gRPC) are retried after the
server's Retry-After, up to the policy's attempts and never past the call's deadline."""

from __future__ import annotations

import time

import pytest

from tests.api.server_thread import ServerThread
from tests.clients.faults import Refusals, refusing_grpc_server, refusing_proxy
from videoprism_client import AsyncHttpClient, GrpcClient, HttpClient, RetryPolicy, VideoPrismError
from videoprism_client.errors import TransportError


def test_http_429_is_retried_after_retry_after(service: ServerThread) -> None:
    refusals = Refusals(2, "overloaded", retry_after=1)
    with refusing_proxy(service.http_url, refusals) as url, HttpClient(url) as client:
        started = time.monotonic()
        batch = client.embed_texts(["retried"])
        elapsed = time.monotonic() - started
    assert refusals.calls == 3 and batch.results[0].ok
    assert 2.0 <= elapsed < 6.0  # two waits of Retry-After: 1 s, not the 0.2 s backoff


async def test_async_http_503_draining_is_retried(service: ServerThread) -> None:
    refusals = Refusals(1, "draining", retry_after=None)  # no Retry-After: the jittered backoff applies
    with refusing_proxy(service.http_url, refusals) as url:
        async with AsyncHttpClient(url, retry=RetryPolicy(base_delay_s=0.05)) as client:
            batch = await client.embed_texts(["after the drain"])
    assert refusals.calls == 2 and batch.results[0].ok


def test_http_gives_up_after_max_attempts_with_typed_error(service: ServerThread) -> None:
    refusals = Refusals(10, "overloaded", retry_after=0)
    with (
        refusing_proxy(service.http_url, refusals) as url,
        HttpClient(url, retry=RetryPolicy(max_attempts=3)) as client,
        pytest.raises(VideoPrismError) as raised,
    ):
        client.embed_texts(["never"])
    assert raised.value.code == "overloaded" and raised.value.status == 429
    assert raised.value.attempts == 3 and refusals.calls == 3


def test_retry_never_sleeps_past_the_deadline(service: ServerThread) -> None:
    refusals = Refusals(10, "overloaded", retry_after=5)
    with refusing_proxy(service.http_url, refusals) as url, HttpClient(url) as client:
        started = time.monotonic()
        with pytest.raises(VideoPrismError) as raised:
            client.embed_texts(["late"], timeout_s=2.0)
        elapsed = time.monotonic() - started
    assert raised.value.code == "overloaded" and raised.value.retry_after_s == 5
    assert elapsed < 1.5 and refusals.calls == 1  # a 5 s wait cannot fit in a 2 s deadline


def test_grpc_resource_exhausted_is_retried_with_retry_after() -> None:
    refusals = Refusals(2, "overloaded", retry_after=1)
    with refusing_grpc_server(refusals) as target, GrpcClient(target) as client:
        started = time.monotonic()
        batch = client.embed_texts(["a", "b"])
        elapsed = time.monotonic() - started
    assert refusals.calls == 3 and batch.model == "fake" and len(batch.results) == 2
    assert 2.0 <= elapsed < 6.0


def test_unreachable_server_is_a_transport_error_after_retries() -> None:
    policy = RetryPolicy(max_attempts=2, base_delay_s=0.01)
    with HttpClient("http://127.0.0.1:9", retry=policy) as client, pytest.raises(TransportError) as raised:
        client.embed_texts(["x"])
    assert raised.value.code == "unavailable" and raised.value.attempts == 2
