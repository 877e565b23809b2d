"""Media fixtures of the reliability suite: a real clip, loopback origins (normal, slow, 404) and the
stand-in ffmpeg that hangs."""

from __future__ import annotations

import http.server
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def make_clip(path: Path, seconds: int = 2) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=10", "-t", str(seconds),
         "-c:v", "mpeg4", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


@contextmanager
def origin(payload: bytes, delay_s: float = 0.0) -> Iterator[int]:
    """Loopback HTTP origin: `/clip.mp4` answers `payload` after `delay_s`, anything else 404. Yields the port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/clip.mp4":
                self.send_error(404)
                return
            time.sleep(delay_s)
            self.send_response(200)
            self.send_header("content-type", "video/mp4")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()


def hanging_ffmpeg(directory: Path) -> Path:
    """A stand-in `ffmpeg` that answers `-version` like the real one (startup checks pass) and otherwise
    sleeps forever, as a decoder stuck on a pathological file would. Returns the directory to put on PATH."""
    real = shutil.which("ffmpeg") or "ffmpeg"
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        "# Stand-in ffmpeg for the decoder-hang fault (tests/reliability): hangs on every real job.\n"
        f'for arg in "$@"; do [ "$arg" = "-version" ] && exec {real} "$@"; done\n'
        "exec sleep 100000\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return directory
