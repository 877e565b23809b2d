"""Fixtures of the inference-core tests: a tiny real bundle (built once per session), a real video made
by ffmpeg with a local HTTP origin serving it, a throwaway redis-server, and the batcher tests' engine,
executor and started batchers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.core.batcher_kit import Started
from tests.core.bundle_factory import TinyBundleSpec, build_tiny_bundle
from tests.core.instrumented_engines import RecordingVideoEngine
from tests.core.shared_fixtures import directory_origin, write_clip
from tests.core.shared_fixtures import redis_server as redis_server  # a fixture: one throwaway Redis per test
from videoprism_bundle.loader import Bundle, load_bundle


@pytest.fixture(scope="session")
def tiny_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bundle(tmp_path_factory.mktemp("tiny_bundle"), TinyBundleSpec())


@pytest.fixture(scope="session")
def tiny_bundle(tiny_bundle_dir: Path) -> Bundle:
    return load_bundle(tiny_bundle_dir)


@pytest.fixture(scope="module")
def video_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("media") / "clip.mp4")


@pytest.fixture(scope="module")
def http_origin(video_file: Path) -> Iterator[str]:
    with directory_origin(video_file.parent) as port:
        yield f"http://127.0.0.1:{port}/{video_file.name}"


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
    batchers = Started()
    yield batchers
    for batcher in batchers.batchers:
        await batcher.close()
