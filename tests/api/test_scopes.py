"""Key scopes from a file of hashed keys, on both doors: a valid key without the route's scope gets
`permission_denied` before its body is parsed, and the file is re-read without a restart."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from service.grpc_api.errors import error_info
from service.settings import Settings
from tests.api.server_thread import ServerThread
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

TEXT_KEY = "text-only-key-1"
VIDEO_KEY = "video-only-key-2"
LATE_KEY = "added-later-key-3"


def _line(key: str, scopes: str) -> str:
    return f"sha256:{hashlib.sha256(key.encode()).hexdigest()} scopes={scopes}\n"


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys.txt"
    path.write_text("# hashed keys\n" + _line(TEXT_KEY, "text") + _line(VIDEO_KEY, "video"))
    return path


@pytest.fixture(scope="module")
def scoped(make_settings: Callable[..., Settings], key_file: Path) -> Iterator[ServerThread]:
    running = ServerThread(make_settings(api_keys_file=key_file)).start()
    yield running
    assert running.stop() == 0


def _assert_denied(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "permission_denied"


def test_http_scope_is_checked_before_the_body(scoped: ServerThread) -> None:
    json_type = {"content-type": "application/json"}
    with scoped.client() as client:
        # Malformed JSON: a 403 (not 400) proves the scope is checked before the body is parsed.
        video_with_text_key = client.post(
            "/v1/embed/video", content=b"{not json", headers={**json_type, **_bearer(TEXT_KEY)}
        )
        text_with_video_key = client.post("/v1/embed/text", json={"texts": ["x"]}, headers=_bearer(VIDEO_KEY))
        openai_with_video_key = client.post(
            "/v1/embeddings", json={"input": "x", "model": "m"}, headers=_bearer(VIDEO_KEY)
        )
        jobs_with_video_key = client.post(
            "/v1/jobs", content=b"{not json", headers={**json_type, **_bearer(VIDEO_KEY)}
        )
        text_ok = client.post("/v1/embed/text", json={"texts": ["x"]}, headers=_bearer(TEXT_KEY))
        models = client.get("/v1/models", headers=_bearer(VIDEO_KEY))
    for response in (video_with_text_key, text_with_video_key, openai_with_video_key, jobs_with_video_key):
        _assert_denied(response)
    assert text_ok.status_code == 200 and len(text_ok.json()["data"][0]["embedding"]) == 16
    assert models.status_code == 200


async def test_grpc_scope_is_checked_before_the_message(scoped: ServerThread) -> None:
    async with grpc.aio.insecure_channel(scoped.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        garbage = channel.unary_unary("/videoprism.v1.EmbeddingService/EmbedVideo")
        with pytest.raises(grpc.aio.AioRpcError) as raw:
            await garbage(b"\xff\xff\xff", metadata=tuple(_bearer(TEXT_KEY).items()))
        with pytest.raises(grpc.aio.AioRpcError) as text:
            await stub.EmbedText(pb.EmbedTextRequest(texts=["x"]), metadata=tuple(_bearer(VIDEO_KEY).items()))
        ok = await stub.EmbedText(pb.EmbedTextRequest(texts=["x"]), metadata=tuple(_bearer(TEXT_KEY).items()))
    for raised in (raw, text):
        assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error_info(raised.value.trailing_metadata()).reason == "permission_denied"  # type: ignore[union-attr]
    assert len(ok.data[0].embedding) == 16


def test_key_file_is_reloaded_without_restart(scoped: ServerThread, key_file: Path) -> None:
    original = key_file.read_text()

    def rewrite(text: str) -> None:
        stat = key_file.stat()
        key_file.write_text(text)
        # A distinct mtime even on coarse-grained filesystems.
        os.utime(key_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
        time.sleep(1.2)  # the store looks at the file at most once a second

    def status(key: str) -> int:
        with scoped.client() as client:
            return client.post("/v1/embed/text", json={"texts": ["x"]}, headers=_bearer(key)).status_code

    assert status(LATE_KEY) == 401
    try:
        rewrite(original + _line(LATE_KEY, "text,video"))
        assert status(LATE_KEY) == 200
        rewrite(_line(LATE_KEY, "text"))  # TEXT_KEY revoked
        assert status(TEXT_KEY) == 401 and status(LATE_KEY) == 200
        rewrite("sha256:not-a-digest\n")  # a broken file keeps the previous keys
        assert status(LATE_KEY) == 200
    finally:
        rewrite(original)
