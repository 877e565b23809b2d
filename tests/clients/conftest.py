"""Fixtures of the client tests: the front-door tests' tiny real bundle and loopback origin, a real
two-door server for the whole session, and a folder of generated videos (plus broken ones)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service.settings import Settings
from tests.api.conftest import api_bundle_dir, make_settings, origin, video_file
from tests.api.server_thread import ServerThread
from tests.core.shared_fixtures import write_clip

__all__ = ["api_bundle_dir", "make_settings", "origin", "video_file"]

# lavfi sources that look nothing alike, so their embeddings differ even under random weights.
PATTERNS = ("testsrc", "smptebars", "mandelbrot", "rgbtestsrc")


@pytest.fixture(scope="session")
def service(make_settings: Callable[..., Settings]) -> Iterator[ServerThread]:
    running = ServerThread(make_settings(max_videos_per_request=4)).start()
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="session")
def video_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four good videos (one in a subfolder) and one file that is not a video."""
    root = tmp_path_factory.mktemp("library")
    (root / "sub").mkdir()
    for pattern in PATTERNS[:3]:
        write_clip(root / f"{pattern}.mp4", pattern)
    write_clip(root / "sub" / f"{PATTERNS[3]}.mp4", PATTERNS[3])
    (root / "broken.mp4").write_bytes(b"this is not a video")
    return root
