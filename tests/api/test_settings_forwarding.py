"""The decode and cache settings read from the environment reach the objects the server builds: the media
ingestor runs the configured ffmpeg under the configured probe timeout, and the Redis client gets the
configured timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from service.core import PrometheusMetrics, build_cache
from service.errors import ServiceError
from service.media import MediaIngestor, SamplingSpec
from service.settings import Settings


def test_env_reaches_media_and_cache_settings(
    monkeypatch: pytest.MonkeyPatch, settings_from_env: Callable[[dict[str, str]], Settings], tmp_path: Path
) -> None:
    env = {
        "VIDEOPRISM_FFMPEG": str(tmp_path / "ffmpeg"),
        "VIDEOPRISM_DECODE_TIMEOUT_S": "7.5",
        "VIDEOPRISM_PROBE_TIMEOUT_S": "2.5",
        "VIDEOPRISM_REDIS_TIMEOUT_S": "0.2",
        "VIDEOPRISM_REDIS_URL": "redis://127.0.0.1:1/0",
    }
    settings = settings_from_env(env)
    media = settings.media_settings()
    assert (media.ffmpeg, media.decode_timeout_s, media.probe_timeout_s) == (tmp_path / "ffmpeg", 7.5, 2.5)
    assert settings.cache_settings().redis_timeout_s == 0.2
    monkeypatch.setenv("VIDEOPRISM_FFMPEG", "imageio")
    assert Settings().media_settings().ffmpeg == "imageio"


def test_defaults_are_unchanged() -> None:
    settings = Settings()
    media = settings.media_settings()
    assert (media.ffmpeg, media.decode_timeout_s, media.probe_timeout_s) == ("auto", 25.0, 20.0)
    assert settings.cache_settings().redis_timeout_s == 0.05


async def test_built_redis_cache_waits_the_configured_timeout() -> None:
    # A "Redis" that accepts connections and never answers: a lookup is a miss after exactly the configured
    # timeout, so taking well over the 0.05 s default shows the setting reached the built client.
    held: list[asyncio.StreamWriter] = []  # kept referenced so no connection is closed by the collector
    silent = await asyncio.start_server(lambda _, writer: held.append(writer), "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    settings = Settings(redis_url=f"redis://127.0.0.1:{port}/0", redis_timeout_s=0.4)
    cache = build_cache(settings.cache_settings(), PrometheusMetrics())
    assert cache is not None
    try:
        started = time.monotonic()
        record = await cache.get_record("k", bundle_id="b", dim=16)
        elapsed = time.monotonic() - started
    finally:
        await cache.close()
        silent.close()
    assert record is None and 0.35 <= elapsed < 3, elapsed


async def test_ingestor_runs_the_configured_ffmpeg_under_the_probe_timeout(
    tmp_path: Path, video_file: Path
) -> None:
    # A stand-in ffmpeg that hangs: the probe must be cut off after the configured timeout, not the default.
    hanging = tmp_path / "ffmpeg"
    hanging.write_text("#!/bin/sh\nexec sleep 30\n")
    hanging.chmod(0o755)
    # The in-process MP4 index would answer the probe without any ffmpeg: this test is about the ffmpeg probe.
    settings = Settings(ffmpeg=hanging, probe_timeout_s=0.5, temp_dir=tmp_path, media_in_process_index=False)
    async with MediaIngestor(settings.media_settings()) as ingestor:
        media = await ingestor.from_bytes(video_file.read_bytes())
        started = time.monotonic()
        # The real ffmpeg would decode this clip: failing at all shows the configured binary ran.
        with pytest.raises(ServiceError) as failed:
            await ingestor.decode_segments(media, SamplingSpec(num_frames=4, image_size=16))
        elapsed = time.monotonic() - started
    # Cut off near 0.5 s, far before the 20 s default.
    assert 0.4 <= elapsed < 5, f"probe ran {elapsed:.1f}s ({failed.value.code})"
