"""Fixtures of the front-door tests: a tiny real bundle, a real video, a loopback HTTP origin serving it,
and a running two-door server (module-scoped: starting one costs a warm-up)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from service.settings import Settings
from tests.api.server_thread import ServerThread
from tests.core.bundle_factory import TinyBundleSpec, build_tiny_bundle
from tests.core.shared_fixtures import directory_origin, write_clip
from tests.core.shared_fixtures import redis_server as redis_server  # a fixture: one throwaway Redis per test


@pytest.fixture(scope="session")
def api_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bundle(tmp_path_factory.mktemp("api_bundle"), TinyBundleSpec())


@pytest.fixture(scope="session")
def video_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("api_media") / "clip.mp4")


@pytest.fixture(scope="session")
def origin(video_file: Path) -> Iterator[tuple[str, int]]:
    """A loopback HTTP origin serving the video directory: (base URL, port)."""
    with directory_origin(video_file.parent) as port:
        yield f"http://127.0.0.1:{port}", port


@pytest.fixture(scope="session")
def make_settings(api_bundle_dir: Path, origin: tuple[str, int]) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "bundle": api_bundle_dir,
            "http_port": 0,
            "grpc_port": 0,
            "device": "cpu",
            "intra_op_threads": 1,
            "video_max_queue_delay_ms": 2,
            "text_max_queue_delay_ms": 2,
            "video_max_batch_size": 4,
            "text_max_batch_size": 8,
            # The test-only exception to the SSRF policy: the loopback origin and its port.
            "allow_networks": ("127.0.0.1/32",),
            "allowed_ports": (80, 443, origin[1]),
            "drain_timeout_s": 10,
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def settings_from_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, str]], Settings]:
    """Sets each variable for this test only, then reads `Settings()` as the server does at start."""

    def read(env: dict[str, str]) -> Settings:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return Settings()

    return read


@pytest.fixture(scope="module")
def server(make_settings: Callable[..., Settings]) -> Iterator[ServerThread]:
    running = ServerThread(make_settings()).start()
    yield running
    assert running.stop() == 0
