"""Fixtures of the inference-core tests: a tiny real bundle (built once per session), a real video made
by ffmpeg with a local HTTP origin serving it, a throwaway redis-server, and the batcher tests' engine,
executor and started batchers."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.core.batcher_kit import Started
from tests.core.bundle_factory import TinyBundleSpec, build_tiny_bundle
from tests.core.instrumented_engines import RecordingVideoEngine
from tests.core.redis_server import RedisServer
from videoprism_bundle.loader import Bundle, load_bundle


@pytest.fixture(scope="session")
def tiny_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bundle(tmp_path_factory.mktemp("tiny_bundle"), TinyBundleSpec())


@pytest.fixture(scope="session")
def tiny_bundle(tiny_bundle_dir: Path) -> Bundle:
    return load_bundle(tiny_bundle_dir)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def video_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "3",
         "-c:v", "mpeg4", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def http_origin(video_file: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(video_file.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{video_file.name}"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(1)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


@pytest.fixture
def video_engine(tiny_bundle: Bundle) -> Iterator[RecordingVideoEngine]:
    engine = RecordingVideoEngine(tiny_bundle)
    yield engine
    engine.gate.set()  # never leave a worker thread blocked


@pytest.fixture
async def started() -> AsyncIterator[Started]:
    batchers: Started = []
    yield batchers
    for batcher in batchers:
        await batcher.close()
