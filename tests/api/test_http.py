"""REST front door over a real uvicorn socket: routes, shapes, encodings, errors, limits, request ids."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from tests.api.server_thread import ServerThread


def test_health_ready_models_metrics(server: ServerThread) -> None:
    with server.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready"}
        model = client.get("/v1/models").json()["data"][0]
        assert model["dim"] == 16 and model["num_frames"] == 4 and model["image_size"] == 16
        assert model["video"]["runtime"] == "onnxruntime" and model["video"]["reason"]
        assert model["text"]["warmed_batch_sizes"]
        metrics = client.get("/metrics")
        assert metrics.status_code == 200 and "videoprism_requests_total" in metrics.text


def test_text_float_and_base64_agree_and_repeat_is_cached(server: ServerThread) -> None:
    with server.client() as client:
        first = client.post("/v1/embed/text", json={"texts": ["a red ball rolls", "a cat sleeps"]}).json()
        again = client.post(
            "/v1/embed/text", json={"texts": ["a red ball rolls"], "encoding": "base64"}
        ).json()
    assert first["dim"] == 16 and [d["index"] for d in first["data"]] == [0, 1]
    vector = np.array(first["data"][0]["embedding"], dtype=np.float32)
    decoded = np.frombuffer(base64.b64decode(again["data"][0]["embedding"]), dtype="<f4")
    np.testing.assert_allclose(decoded, vector, atol=1e-6)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4
    assert again["data"][0]["cached"] is True


def test_video_items_fail_alone(server: ServerThread, video_file: Path) -> None:
    good = base64.b64encode(video_file.read_bytes()).decode()
    bad = base64.b64encode(b"not a video at all").decode()
    with server.client() as client:
        body = client.post("/v1/embed/video", json={"videos": [{"data": good}, {"data": bad}]}).json()
    assert len(body["data"][0]["embedding"]) == 16 and "error" not in body["data"][0]
    assert body["data"][1]["error"]["code"] == "unsupported_media" and "embedding" not in body["data"][1]


def test_segments_are_reported_when_asked(server: ServerThread, video_file: Path) -> None:
    with server.client() as client:
        response = client.post(
            "/v1/embed/video/upload",
            files=[("files", ("clip.mp4", video_file.read_bytes(), "video/mp4"))],
            data={"segment_interval_seconds": "1"},
        )
    item = response.json()["data"][0]
    assert response.status_code == 200, response.text
    assert len(item["segments"]) == 3
    assert [round(s["start"]) for s in item["segments"]] == [0, 1, 2]


def test_request_errors_use_status_and_error_body(server: ServerThread) -> None:
    with server.client() as client:
        empty = client.post("/v1/embed/video", json={"videos": []})
        both = client.post("/v1/embed/video", json={"videos": [{"url": "http://a/x.mp4", "data": "AA=="}]})
        bad_b64 = client.post("/v1/embed/video", json={"videos": [{"data": "!!!"}]})
        not_json = client.post("/v1/embed/text", content=b"{", headers={"content-type": "application/json"})
        too_many = client.post("/v1/embed/video", json={"videos": [{"url": "http://x/a.mp4"}] * 17})
        unknown = client.get("/v1/nope")
    for response in (empty, both, bad_b64, not_json, too_many):
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_request"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "invalid_request"


def test_forbidden_url_is_an_item_error(server: ServerThread) -> None:
    with server.client() as client:
        body = client.post("/v1/embed/video", json={"videos": [{"url": "http://10.0.0.1/a.mp4"}]}).json()
    assert body["data"][0]["error"]["code"] in {"url_forbidden", "port_forbidden"}


def test_body_limit_is_413_before_parsing(make_settings, video_file: Path) -> None:  # type: ignore[no-untyped-def]
    small = ServerThread(make_settings(max_body_bytes=1000, max_upload_bytes=1000)).start()
    try:
        with small.client() as client:
            declared = client.post("/v1/embed/text", json={"texts": ["x" * 2000]})
            # A chunked body has no Content-Length: the limit is enforced while reading.
            chunked = client.post(
                "/v1/embed/text",
                content=iter([b'{"texts": ["', b"y" * 3000, b'"]}']),
                headers={"content-type": "application/json"},
            )
            upload = client.post(
                "/v1/embed/video/upload", files=[("files", ("a.mp4", video_file.read_bytes(), "video/mp4"))]
            )
    finally:
        assert small.stop() == 0
    for response in (declared, chunked, upload):
        assert response.status_code == 413, response.text
        assert response.json()["error"]["code"] == "payload_too_large"


def test_request_id_is_echoed_or_minted(server: ServerThread) -> None:
    with server.client() as client:
        echoed = client.get("/healthz", headers={"x-request-id": "abc-123"})
        minted = client.post("/v1/embed/text", json={"texts": []}, headers={"x-request-id": "bad id {json}"})
    assert echoed.headers["x-request-id"] == "abc-123"
    assert minted.headers["x-request-id"] != "bad id {json}" and len(minted.headers["x-request-id"]) == 32
