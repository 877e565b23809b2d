"""Two bundles served at once by one real server: the committed demo bundle and a second, different one.
The request's `model` selects the bundle on every door (REST video and text, the upload form, the OpenAI
route, gRPC), an unknown name is `model_not_found` naming the served models, `/v1/models` and
`GetModelInfo` list both, and the cache keeps one entry per bundle for the same video."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from service.grpc_api.errors import error_info
from service.settings import DEMO_BUNDLE, Settings
from tests.api.server_thread import ServerThread
from tests.core.shared_fixtures import write_clip
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

DEMO_DIM, TINY_DIM = 96, 16


@pytest.fixture(scope="module")
def demo_int8(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo bundle's int8 variant, made by the exporter's `derive_bundle`: same shapes, other bundle id."""
    from training.export.derive import derive_bundle

    out = tmp_path_factory.mktemp("derived") / "demo-int8"
    derive_bundle(DEMO_BUNDLE, out, "int8")
    return out


@pytest.fixture(scope="module")
def two_models(
    make_settings: Callable[..., Settings], api_bundle_dir: Path, demo_int8: Path
) -> Iterator[ServerThread]:
    """The demo bundle (default), a second bundle of other shapes, and the demo's exported int8 variant."""
    settings = make_settings(
        bundles=(f"demo={DEMO_BUNDLE}", f"tiny={api_bundle_dir}", f"demo-int8={demo_int8}")
    )
    running = ServerThread(settings).start()
    yield running
    assert running.stop() == 0


def _cards(server: ServerThread) -> dict[str, dict[str, object]]:
    with server.client() as client:
        response = client.get("/v1/models")
    assert response.status_code == 200, response.text
    return {card["id"]: card for card in response.json()["data"]}


def test_models_lists_both_with_dims_frames_bundle_and_default(two_models: ServerThread) -> None:
    cards = _cards(two_models)
    assert set(cards) == {"demo", "tiny", "demo-int8"}
    assert (cards["demo"]["dim"], cards["demo"]["num_frames"], cards["demo"]["default"]) == (
        DEMO_DIM,
        8,
        True,
    )
    assert (cards["tiny"]["dim"], cards["tiny"]["num_frames"], cards["tiny"]["default"]) == (
        TINY_DIM,
        4,
        False,
    )
    assert cards["demo"]["model_name"] == "videoprism-tiny-demo"
    assert cards["demo"]["bundle_id"] != cards["tiny"]["bundle_id"]
    with two_models.client() as client:
        one = client.get("/v1/models/tiny")
    assert one.status_code == 200 and one.json()["bundle_id"] == cards["tiny"]["bundle_id"]


def test_the_exported_int8_variant_is_served_beside_its_source(two_models: ServerThread) -> None:
    cards = _cards(two_models)
    assert (cards["demo-int8"]["dim"], cards["demo-int8"]["num_frames"]) == (DEMO_DIM, 8)
    assert cards["demo-int8"]["bundle_id"] != cards["demo"]["bundle_id"]
    with two_models.client() as client:
        vectors = {
            model: np.array(
                client.post("/v1/embed/text", json={"texts": ["a red ball rolls"], "model": model}).json()[
                    "data"
                ][0]["embedding"]
            )
            for model in ("demo", "demo-int8")
        }
    # Two engines answered (quantized weights give another vector) for the same model (close to it).
    assert not np.array_equal(vectors["demo"], vectors["demo-int8"])
    assert float(vectors["demo"] @ vectors["demo-int8"]) > 0.9


def test_rest_text_and_video_select_the_model(two_models: ServerThread, video_file: Path) -> None:
    data = base64.b64encode(video_file.read_bytes()).decode()
    with two_models.client() as client:
        for model, dim in ((None, DEMO_DIM), ("demo", DEMO_DIM), ("tiny", TINY_DIM)):
            extra = {} if model is None else {"model": model}
            text = client.post("/v1/embed/text", json={"texts": ["a red ball"], **extra})
            assert text.status_code == 200, text.text
            assert (text.json()["model"], text.json()["dim"]) == (model or "demo", dim)
            assert len(text.json()["data"][0]["embedding"]) == dim
            video = client.post("/v1/embed/video", json={"videos": [{"data": data}], **extra})
            assert video.status_code == 200, video.text
            assert len(video.json()["data"][0]["embedding"]) == dim
        upload = client.post(
            "/v1/embed/video/upload",
            files={"files": ("clip.mp4", video_file.read_bytes())},
            data={"model": "tiny"},
        )
    assert upload.status_code == 200, upload.text
    assert (upload.json()["model"], len(upload.json()["data"][0]["embedding"])) == ("tiny", TINY_DIM)


def test_the_same_video_under_two_models_is_two_cache_entries(
    two_models: ServerThread, tmp_path: Path
) -> None:
    # A video no other test sends: the cache key is the content's hash, with the bundle id.
    clip = write_clip(tmp_path / "fresh.mp4", "testsrc2", seconds=2)
    data = base64.b64encode(clip.read_bytes()).decode()
    with two_models.client() as client:

        def embed(model: str) -> dict[str, Any]:
            response = client.post("/v1/embed/video", json={"videos": [{"data": data}], "model": model})
            assert response.status_code == 200, response.text
            item: dict[str, Any] = response.json()["data"][0]
            return item

        first_demo = embed("demo")
        first_tiny = embed("tiny")  # a miss, not the demo entry: the key holds the bundle id
        again_demo, again_tiny = embed("demo"), embed("tiny")
    assert (first_demo["cached"], first_tiny["cached"]) == (False, False)
    assert (again_demo["cached"], again_tiny["cached"]) == (True, True)
    assert again_demo["embedding"] == first_demo["embedding"]
    assert again_tiny["embedding"] == first_tiny["embedding"]
    assert (len(first_demo["embedding"]), len(first_tiny["embedding"])) == (DEMO_DIM, TINY_DIM)


def test_openai_route_selects_the_model(two_models: ServerThread) -> None:
    with two_models.client() as client:
        tiny = client.post("/v1/embeddings", json={"model": "tiny", "input": ["a red ball"]})
        demo = client.post("/v1/embeddings", json={"model": "demo", "input": "a red ball"})
    assert tiny.status_code == 200 and demo.status_code == 200, (tiny.text, demo.text)
    assert (tiny.json()["model"], len(tiny.json()["data"][0]["embedding"])) == ("tiny", TINY_DIM)
    assert (demo.json()["model"], len(demo.json()["data"][0]["embedding"])) == ("demo", DEMO_DIM)


def test_unknown_model_is_model_not_found_on_every_http_route(
    two_models: ServerThread, video_file: Path
) -> None:
    with two_models.client() as client:
        answers = [
            client.post("/v1/embed/text", json={"texts": ["x"], "model": "nope"}),
            client.post(
                "/v1/embed/video", json={"videos": [{"url": "https://example.com/a.mp4"}], "model": "nope"}
            ),
            client.post(
                "/v1/embed/video/upload",
                files={"files": ("a.mp4", video_file.read_bytes())},
                data={"model": "nope"},
            ),
        ]
        openai = client.post("/v1/embeddings", json={"model": "nope", "input": "x"})
        retrieve = client.get("/v1/models/nope")
        still_serving = client.post("/v1/embed/text", json={"texts": ["x"], "model": "tiny"})
    for answer in answers:
        assert answer.status_code == 404, answer.text
        error = answer.json()["error"]
        assert error["code"] == "model_not_found" and "demo, tiny" in error["message"]
    for answer in (openai, retrieve):
        assert answer.status_code == 404, answer.text
        error = answer.json()["error"]
        assert (error["code"], error["param"]) == ("model_not_found", "model") and "demo, tiny" in error[
            "message"
        ]
    assert still_serving.status_code == 200


def test_grpc_selects_the_model_and_lists_both(two_models: ServerThread, video_file: Path) -> None:
    with grpc.insecure_channel(two_models.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        text = stub.EmbedText(pb.EmbedTextRequest(texts=["a red ball"], model="tiny"), timeout=30)
        default_text = stub.EmbedText(pb.EmbedTextRequest(texts=["a red ball"]), timeout=30)
        video = stub.EmbedVideo(
            pb.EmbedVideoRequest(videos=[pb.VideoSource(data=video_file.read_bytes())], model="tiny"),
            timeout=30,
        )
        info = stub.GetModelInfo(pb.GetModelInfoRequest(model="tiny"), timeout=30)
        streamed = list(
            stub.StreamEmbed(iter([pb.StreamEmbedRequest(id="a", text="x", model="tiny")]), timeout=30)
        )
        upload = stub.UploadVideo(
            iter(
                [
                    pb.UploadVideoRequest(header=pb.UploadVideoHeader(model="tiny")),
                    pb.UploadVideoRequest(chunk=video_file.read_bytes()),
                ]
            ),
            timeout=30,
        )
    assert (text.model, text.dim, len(text.data[0].embedding)) == ("tiny", TINY_DIM, TINY_DIM)
    assert (default_text.model, default_text.dim) == ("demo", DEMO_DIM)
    assert (video.model, len(video.data[0].embedding)) == ("tiny", TINY_DIM)
    assert (upload.model, len(upload.result.embedding)) == ("tiny", TINY_DIM)
    assert len(streamed[0].embedding) == TINY_DIM and not streamed[0].HasField("error")
    assert (info.name, info.is_default, info.embedding_dim, info.num_frames) == ("tiny", False, TINY_DIM, 4)
    listed = {m.name: (m.embedding_dim, m.num_frames, m.is_default, m.bundle_id) for m in info.models}
    cards = _cards(two_models)
    assert listed == {
        "demo": (DEMO_DIM, 8, True, cards["demo"]["bundle_id"]),
        "tiny": (TINY_DIM, 4, False, cards["tiny"]["bundle_id"]),
        "demo-int8": (DEMO_DIM, 8, False, cards["demo-int8"]["bundle_id"]),
    }


def test_grpc_unknown_model_is_not_found(two_models: ServerThread) -> None:
    with grpc.insecure_channel(two_models.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        calls: list[Callable[[], object]] = [
            lambda: stub.EmbedText(pb.EmbedTextRequest(texts=["x"], model="nope"), timeout=30),
            lambda: stub.EmbedVideo(
                pb.EmbedVideoRequest(videos=[pb.VideoSource(url="https://example.com/a.mp4")], model="nope"),
                timeout=30,
            ),
            lambda: stub.GetModelInfo(pb.GetModelInfoRequest(model="nope"), timeout=30),
            lambda: list(
                stub.EmbedVideoSegments(
                    pb.EmbedVideoRequest(
                        videos=[pb.VideoSource(url="https://example.com/a.mp4")], model="nope"
                    ),
                    timeout=30,
                )
            ),
        ]
        for call in calls:
            with pytest.raises(grpc.RpcError) as caught:
                call()
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
            info = error_info(caught.value.trailing_metadata())
            assert info is not None and info.reason == "model_not_found"
            assert "demo, tiny" in (caught.value.details() or "")
        # In a stream an unknown model fails its own item only.
        (item,) = list(
            stub.StreamEmbed(iter([pb.StreamEmbedRequest(id="b", text="x", model="nope")]), timeout=30)
        )
    assert (item.id, item.error.code) == ("b", "model_not_found")


def test_admin_routes_are_off_without_api_keys(two_models: ServerThread) -> None:
    with two_models.client() as client:
        refused = [
            client.post("/v1/admin/models/tiny:reload", json={}),
            client.delete("/v1/admin/models/tiny"),
            client.post("/v1/admin/models", json={"name": "x", "path": str(DEMO_BUNDLE)}),
        ]
    served = set(_cards(two_models))
    for answer in refused:
        assert answer.status_code == 403, answer.text
        error = answer.json()["error"]
        assert error["code"] == "permission_denied" and "SIGHUP" in error["message"]
    assert served == {"demo", "tiny", "demo-int8"}
