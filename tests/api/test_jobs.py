"""The HTTP jobs API in process (no Redis): DELETE stops the work (no ffmpeg child, no spooled file 1 s
later), a job is invisible to other API keys, the completion callback is signed, bad input is coded."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from service.settings import Settings
from tests.api.long_video import make_long_video
from tests.api.server_thread import ServerThread
from tests.core.shared_fixtures import QuietHandler, loopback_http
from tests.media.procs import ffmpeg_children, settle

KEY, OTHER_KEY, SECRET = "key-one", "key-two", "hook-secret"


class _Hooks(QuietHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        _Hooks.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()


@pytest.fixture(scope="module")
def hooks() -> Iterator[tuple[int, list[tuple[dict[str, str], bytes]]]]:
    with loopback_http(_Hooks) as port:
        yield port, _Hooks.received


@pytest.fixture(scope="module")
def spool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jobs_spool")


@pytest.fixture(scope="module")
def jobs_server(
    make_settings: Callable[..., Settings], spool: Path, origin: tuple[str, int], hooks: tuple[int, Any]
) -> Iterator[ServerThread]:
    settings = make_settings(
        temp_dir=spool,
        cache="none",
        api_keys=(KEY, OTHER_KEY),
        allowed_ports=(80, 443, origin[1], hooks[0]),
        jobs_callback_secret=SECRET,
    )
    running = ServerThread(settings).start()
    yield running
    running.stop()


def _client(server: ServerThread, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.http_url, timeout=30, headers={"authorization": f"Bearer {key}"})


async def _finished(client: httpx.AsyncClient, job: str) -> dict[str, Any]:
    for _ in range(600):
        state: dict[str, Any] = (await client.get(f"/v1/jobs/{job}")).json()
        if state["status"] in ("succeeded", "failed", "cancelled"):
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job} did not finish: {state}")


async def test_delete_stops_the_work(
    jobs_server: ServerThread, origin: tuple[str, int], video_file: Path, spool: Path
) -> None:
    if not (video_file.parent / "long.mp4").exists():
        make_long_video(video_file.parent / "long.mp4")
    body = {"video": {"url": f"{origin[0]}/long.mp4"}, "segments": {"interval_seconds": 0.5}}
    async with _client(jobs_server, KEY) as client:
        job = (await client.post("/v1/jobs", json=body)).json()["id"]
        await settle(lambda: bool(ffmpeg_children()), within_s=10.0)
        cancelled = await client.delete(f"/v1/jobs/{job}")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        try:
            await settle(lambda: not ffmpeg_children() and not _spooled(spool), within_s=1.0)
        except AssertionError:
            raise AssertionError(f"left: ffmpeg {ffmpeg_children()}, files {_spooled(spool)}") from None
        state = await _finished(client, job)
    assert state["status"] == "cancelled" and state["progress"]["segments_done"] < 2400


def _spooled(spool: Path) -> list[Path]:
    # The ingestor's own lifetime lock (`.owner` / `vp-media-*.lock`) is not a request's file.
    return [p for p in spool.rglob("*") if p.is_file() and p.name != ".owner" and p.suffix != ".lock"]


async def test_a_job_is_private_and_its_callback_signed(
    jobs_server: ServerThread, video_file: Path, hooks: tuple[int, list[tuple[dict[str, str], bytes]]]
) -> None:
    port, received = hooks
    body = {
        "video": {"data": base64.b64encode(video_file.read_bytes()).decode()},
        "segments": {"interval_seconds": 1.0},
        "callback_url": f"http://127.0.0.1:{port}/done",
    }
    async with _client(jobs_server, KEY) as owner, _client(jobs_server, OTHER_KEY) as other:
        job = (await owner.post("/v1/jobs", json=body)).json()["id"]
        for answer in (
            await other.get(f"/v1/jobs/{job}"),
            await other.get(f"/v1/jobs/{job}/segments"),
            await other.delete(f"/v1/jobs/{job}"),
        ):
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "job_not_found"
        state = await _finished(owner, job)
        page = (await owner.get(f"/v1/jobs/{job}/segments", params={"limit": 2})).json()
        rest = (await owner.get(f"/v1/jobs/{job}/segments", params={"offset": 2})).json()
    assert state["status"] == "succeeded" and state["progress"] == {"segments_done": 3, "segments_total": 3}
    assert [s["index"] for s in page["data"]] == [0, 1] and page["next_offset"] == 2
    assert [s["index"] for s in rest["data"]] == [2] and rest["next_offset"] is None
    await settle(lambda: bool(received), within_s=5.0)
    headers, raw = received[-1]
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-VideoPrism-Signature"], expected)
    assert json.loads(raw)["id"] == job and json.loads(raw)["status"] == "succeeded"


async def test_bad_jobs_are_refused_with_a_code(jobs_server: ServerThread, origin: tuple[str, int]) -> None:
    async with _client(jobs_server, KEY) as client:
        bad_hook = await client.post(
            "/v1/jobs",
            json={"video": {"url": f"{origin[0]}/clip.mp4"}, "callback_url": "ftp://example.com/x"},
        )
        frames = await client.post(
            "/v1/jobs", json={"video": {"frames": {"data": "AAAA", "shape": [1, 1, 1, 3]}}}
        )
        unknown = await client.get("/v1/jobs/does-not-exist")
    assert bad_hook.status_code == 400 and bad_hook.json()["error"]["code"] == "scheme_forbidden"
    assert frames.status_code == 400 and frames.json()["error"]["code"] == "invalid_request"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "job_not_found"
