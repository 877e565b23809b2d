"""Fixtures for the media tests: generated videos and settings that keep runs small."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.media import MediaSettings
from tests.media.mp4_layouts import LayoutFactory
from tests.media.videos import VideoFactory


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> VideoFactory:
    return VideoFactory(tmp_path_factory.mktemp("videos"))


@pytest.fixture(scope="session")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> LayoutFactory:
    return LayoutFactory(tmp_path_factory.mktemp("mp4_layouts"))


@pytest.fixture()
def settings(tmp_path: Path) -> MediaSettings:
    return MediaSettings(temp_dir=tmp_path, decode_timeout_s=20, probe_timeout_s=20)
