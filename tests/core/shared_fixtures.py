"""What the inference-core and the front-door tests both stand on: a throwaway redis-server, a real
3-second clip made by ffmpeg, and a quiet loopback origin serving a directory. The conftests of
tests/core and tests/api import these, so the two suites build them the same way."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.core.redis_server import RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


def write_clip(path: Path, pattern: str = "testsrc", seconds: float = 3) -> Path:
    """`path`: `seconds` of the lavfi test `pattern` at 64x48, 10 fps, mpeg4."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{pattern}=size=64x48:rate=10", "-t", str(seconds),
         "-c:v", "mpeg4", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def directory_origin(directory: Path) -> Iterator[int]:
    """A loopback HTTP origin serving the files of `directory`; yields its port."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
