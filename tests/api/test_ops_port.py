"""The operations listener (`VIDEOPRISM_OPS_PORT`): metrics, health, docs and the OpenAPI document there
without a key, while the main port with keys set serves the embedding API and health only."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from service.settings import Settings
from tests.api.server_thread import ServerThread

KEY = "ops-test-key-1"


@pytest.fixture(scope="module")
def with_ops(make_settings: Callable[..., Settings]) -> Iterator[ServerThread]:
    running = ServerThread(make_settings(api_keys=KEY, ops_port=0)).start()
    yield running
    assert running.stop() == 0


def test_ops_routes_leave_the_main_port(with_ops: ServerThread) -> None:
    auth = {"authorization": f"Bearer {KEY}"}
    with with_ops.client() as client:
        embedded = client.post("/v1/embed/text", json={"texts": ["x"]}, headers=auth)
        health = [client.get(p).status_code for p in ("/healthz", "/readyz")]
        moved = {p: client.get(p, headers=auth).status_code for p in ("/metrics", "/docs", "/openapi.json")}
    assert embedded.status_code == 200 and health == [200, 200]
    assert moved == {"/metrics": 404, "/docs": 404, "/openapi.json": 404}


def test_ops_port_serves_metrics_and_docs_without_a_key(with_ops: ServerThread) -> None:
    assert with_ops.process.ops_port not in (None, with_ops.process.http_port)
    with with_ops.client() as client:  # one request, so the front-door counters have a sample
        client.post("/v1/embed/text", json={"texts": ["y"]}, headers={"authorization": f"Bearer {KEY}"})
    with httpx.Client(base_url=f"http://127.0.0.1:{with_ops.process.ops_port}", timeout=10) as ops:
        metrics = ops.get("/metrics")
        spec = ops.get("/openapi.json")
        docs = ops.get("/docs")
        health = [ops.get(p).status_code for p in ("/healthz", "/readyz")]
    assert metrics.status_code == 200
    for family in (
        'videoprism_requests_total{api="http",code="ok",method="/v1/embed/text"}',
        "videoprism_requests_in_flight",
        "process_resident_memory_bytes",
    ):
        assert family in metrics.text, family
    assert spec.status_code == 200 and "/v1/embed/video" in spec.json()["paths"]
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    assert health == [200, 200]
