"""Issue-25 media refusals seen from the running server, on both doors: percent-encoded control characters
(`url_invalid`), a `data:` URL (`scheme_forbidden`) and an FFV1 stream in Matroska (`unsupported_media`, the
codec allow-list) are per-item errors next to a good video that still embeds, and the server keeps serving.
Then `kill -9` of a real `videoprism-serve` mid-download leaves its spool behind; the next start purges it."""

from __future__ import annotations

import base64
import contextlib
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from service.media.spool import PREFIX
from tests.api.serve_process import SERVE, loopback_env, wait_ready
from tests.api.server_thread import ServerThread
from tests.core.redis_server import free_port
from tests.core.shared_fixtures import QuietHandler, loopback_http
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
def ffv1_mkv(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("ffv1") / "lossless.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "1",
         "-c:v", "ffv1", str(path)],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


def _hostile_items(origin: tuple[str, int], ffv1: bytes) -> list[tuple[str, dict[str, str]]]:
    base, _ = origin
    return [
        ("url_invalid", {"url": f"{base}/clip%00.mp4"}),
        ("url_invalid", {"url": f"{base}/clip.mp4?x=%0d%0aX-Injected:%201"}),
        ("scheme_forbidden", {"url": "data:video/mp4;base64,AAAA"}),
        ("unsupported_media", {"data": base64.b64encode(ffv1).decode()}),
    ]


def test_http_refuses_each_hostile_item_and_embeds_the_good_one(
    server: ServerThread, origin: tuple[str, int], ffv1_mkv: bytes
) -> None:
    hostile = _hostile_items(origin, ffv1_mkv)
    videos = [item for _, item in hostile] + [{"url": f"{origin[0]}/clip.mp4"}]
    with server.client() as client:
        response = client.post("/v1/embed/video", json={"videos": videos})
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert [d.get("error", {}).get("code") for d in data[:-1]] == [code for code, _ in hostile]
        assert all(d["error"]["message"] for d in data[:-1])
        assert "error" not in data[-1] and len(data[-1]["embedding"]) == 16
        assert client.get("/readyz").status_code == 200


async def test_grpc_refuses_each_hostile_item_and_embeds_the_good_one(
    server: ServerThread, origin: tuple[str, int], ffv1_mkv: bytes
) -> None:
    hostile = _hostile_items(origin, ffv1_mkv)
    sources = [
        pb.VideoSource(url=item["url"])
        if "url" in item
        else pb.VideoSource(data=base64.b64decode(item["data"]))
        for _, item in hostile
    ]
    sources.append(pb.VideoSource(url=f"{origin[0]}/clip.mp4"))
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        answer = await pb_grpc.EmbeddingServiceStub(channel).EmbedVideo(pb.EmbedVideoRequest(videos=sources))
    assert [item.error.code for item in answer.data[:-1]] == [code for code, _ in hostile]
    assert not answer.data[-1].HasField("error") and len(answer.data[-1].embedding) == 16


@pytest.fixture
def trickling_origin(video_file: Path) -> Iterator[int]:
    """Sends half the file, then holds the connection: a download is in the spool when the server dies."""
    payload = video_file.read_bytes()
    release = threading.Event()

    class Trickle(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            release.wait(60)

    with loopback_http(Trickle) as port:
        yield port
        release.set()


def _start(env: dict[str, str], http_port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([str(SERVE)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{http_port}", proc)
    return proc


def test_kill_9_spool_is_purged_by_the_next_start(
    api_bundle_dir: Path, trickling_origin: int, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    http_port, grpc_port = free_port(), free_port()
    env = {
        **loopback_env(api_bundle_dir, http_port, grpc_port, trickling_origin),
        "VIDEOPRISM_TEMP_DIR": str(spool),
    }
    first = _start(env, http_port)
    try:

        def request() -> None:
            with contextlib.suppress(httpx.TransportError):  # the server is killed under it
                httpx.post(
                    f"http://127.0.0.1:{http_port}/v1/embed/video",
                    json={"videos": [{"url": f"http://127.0.0.1:{trickling_origin}/clip.mp4"}]},
                    timeout=30,
                )

        threading.Thread(target=request, daemon=True).start()
        deadline = time.monotonic() + 20
        while not any(path.is_file() for path in spool.rglob("*") if not path.name.endswith(".lock")):
            assert time.monotonic() < deadline, f"no partial download appeared in {spool}"
            time.sleep(0.05)
        left = sorted(p.name for p in spool.iterdir() if p.name.startswith(PREFIX) and p.is_dir())
        assert left, "the live server should hold a spool directory"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert all((spool / name).exists() for name in left), "kill -9 cannot clean up; the directory stays"
    second = _start(env, http_port)
    try:
        assert not any((spool / name).exists() for name in left), "the stale spool survived a restart"
        assert httpx.get(f"http://127.0.0.1:{http_port}/readyz", timeout=5).status_code == 200
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
