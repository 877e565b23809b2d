"""SIGTERM on the real `videoprism-serve` while requests outlast the drain deadline (a 60 s origin, a
decoder that hangs): at the deadline the remainder is answered `draining` (503 / UNAVAILABLE, never a 500
or a reset), the ffmpeg children are killed, the spool is emptied and the process exits 0 within the drain
deadline + 5 s."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import pytest

from service.grace import EXIT_MARGIN_S
from service.grpc_api.errors import error_info
from tests.api.serve_process import SERVE, embed_in_background, kill_if_running, loopback_env, wait_ready
from tests.core.redis_server import free_port
from tests.core.shared_fixtures import QuietHandler, loopback_http
from tests.media.procs import alive
from tests.reliability.media import hanging_ffmpeg

DRAIN_S = 2.0


def _descendants(pid: int) -> set[int]:
    """Every live process below `pid`, from /proc (ffmpeg runs in its own session, but keeps its parent)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


ORIGIN_DELAY_S = 60.0


@pytest.fixture
def stalled_origin() -> Iterator[int]:
    """Answers nothing for a minute: requests fetching from it are still running at the drain deadline."""
    release = threading.Event()

    class Stalled(QuietHandler):
        def do_GET(self) -> None:
            release.wait(ORIGIN_DELAY_S)

    with loopback_http(Stalled) as port:
        yield port
        release.set()


def test_requests_past_the_drain_deadline_answer_draining(
    api_bundle_dir: Path, video_file: Path, stalled_origin: int, tmp_path: Path
) -> None:
    http_port, grpc_port = free_port(), free_port()
    spool = tmp_path / "spool"
    spool.mkdir()
    env = {
        **loopback_env(api_bundle_dir, http_port, grpc_port, stalled_origin),
        "PATH": f"{hanging_ffmpeg(tmp_path / 'bin')}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIDEOPRISM_DRAIN_TIMEOUT_S": str(DRAIN_S),
        "VIDEOPRISM_DECODE_TIMEOUT_S": "60",
        "VIDEOPRISM_PROBE_TIMEOUT_S": "60",
        "VIDEOPRISM_REQUEST_TIMEOUT_S": "120",
        "VIDEOPRISM_TEMP_DIR": str(spool),
    }
    proc = subprocess.Popen(
        [str(SERVE)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{http_port}"
    url = f"http://127.0.0.1:{stalled_origin}/clip.mp4"
    upload = base64.b64encode(video_file.read_bytes()).decode()
    try:
        wait_ready(base, proc)
        with ThreadPoolExecutor(4) as pool, grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            fetching, grpc_call = embed_in_background(pool, base, channel, url, 2)
            decoding = pool.submit(
                httpx.post, f"{base}/v1/embed/video", json={"videos": [{"data": upload}]}, timeout=30
            )
            time.sleep(1.5)  # fetches wait on the origin, the upload sits in the hanging decoder
            children = _descendants(proc.pid)
            assert children, "the upload should have started a (hanging) ffmpeg child"
            proc.send_signal(signal.SIGTERM)
            terminated = time.monotonic()
            answers = [f.result() for f in (*fetching, decoding)]
            with pytest.raises(grpc.RpcError) as grpc_cut:
                grpc_call.result()
        code = proc.wait(timeout=DRAIN_S + EXIT_MARGIN_S + 10)
        exit_s = time.monotonic() - terminated
    finally:
        kill_if_running(proc)
    stderr = proc.stderr.read() if proc.stderr else ""
    print(
        f"exit {exit_s:.2f} s after SIGTERM (drain {DRAIN_S} s); {len(children)} ffmpeg processes at SIGTERM"
    )
    for response in answers:
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "draining"
    assert grpc_cut.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    info = error_info(grpc_cut.value.trailing_metadata())  # type: ignore[attr-defined]
    assert info is not None and info.reason == "draining"
    assert code == 0, stderr[-3000:]
    assert exit_s <= DRAIN_S + EXIT_MARGIN_S, f"exited {exit_s:.1f} s after SIGTERM"
    assert "Exception in ASGI application" not in stderr
    survivors = [pid for pid in children if alive(pid)]
    assert survivors == [], f"ffmpeg children outlived the server: {survivors}"
    assert list(spool.iterdir()) == []
