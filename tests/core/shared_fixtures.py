"""What the inference-core and the front-door tests both stand on: a throwaway redis-server, real
clips made by ffmpeg, and quiet loopback HTTP servers (one serving a directory). The conftests of
tests/core and tests/api import these, so the two suites build them the same way."""

from __future__ import annotations

import functools
import http.server
import socketserver
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
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


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that writes no access log line to the test output."""

    def log_message(self, format: str, *args: object) -> None:
        pass


class _QuietFiles(QuietHandler, http.server.SimpleHTTPRequestHandler):
    pass


@contextmanager
def loopback_http(handler: Callable[..., socketserver.BaseRequestHandler]) -> Iterator[int]:
    """Serves `handler` on a free loopback port from a background thread (each request on a daemon
    thread, so a held one never blocks the test's exit); yields the port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()


def directory_origin(directory: Path) -> AbstractContextManager[int]:
    """A loopback HTTP origin serving the files of `directory`; yields its port."""
    return loopback_http(functools.partial(_QuietFiles, directory=str(directory)))
