"""`videoprism_decoder_crashes_total{signal}`: an ffmpeg that dies of SIGSEGV fails that item, is counted
under its signal's name, and the server keeps serving."""

from __future__ import annotations

import base64
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from service.settings import Settings
from tests.api.server_thread import ServerThread


def _crashing_ffmpeg(directory: Path) -> Path:
    """Answers `-version` like the real ffmpeg (start-up checks pass), and otherwise segfaults itself."""
    real = shutil.which("ffmpeg") or "ffmpeg"
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "ffmpeg"
    script.write_text(
        f'#!/bin/sh\nfor arg in "$@"; do [ "$arg" = "-version" ] && exec {real} "$@"; done\nkill -SEGV $$\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def test_decoder_crashes_are_counted_by_signal(
    make_settings: Callable[..., Settings], video_file: Path, tmp_path: Path
) -> None:
    server = ServerThread(make_settings(ffmpeg=_crashing_ffmpeg(tmp_path / "bin"), cache="none")).start()
    try:
        with server.client() as client:
            body = {"videos": [{"data": base64.b64encode(video_file.read_bytes()).decode()}]}
            crashed = client.post("/v1/embed/video", json=body)
            text = client.post("/v1/embed/text", json={"texts": ["still serving"]})
            metrics = client.get("/metrics").text
    finally:
        assert server.stop() == 0
    assert crashed.status_code == 200 and "error" in crashed.json()["data"][0], crashed.text
    assert text.status_code == 200
    [line] = [m for m in metrics.splitlines() if m.startswith("videoprism_decoder_crashes_total{")]
    assert 'signal="SIGSEGV"' in line and float(line.rsplit(" ", 1)[1]) >= 1
