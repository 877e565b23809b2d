"""The async ingestor: sources, temp-file lifetime, local-path root, concurrent decoding."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import numpy as np
import pytest

from service.errors import ServiceError
from service.media import MediaIngestor, MediaSettings, SamplingSpec, decode_clip_sync
from tests.media.procs import working_ffmpeg_children
from tests.media.videos import VideoFactory

SPEC = SamplingSpec(num_frames=4, image_size=16)


async def test_from_bytes_matches_the_sync_decoder(videos: VideoFactory, settings: MediaSettings) -> None:
    data = videos.get("h264").read_bytes()
    async with MediaIngestor(settings) as ing:
        media = await ing.from_bytes(data)
        assert media.sha256 == hashlib.sha256(data).hexdigest() and media.size_bytes == len(data)
        frames = await ing.decode_clip(media, SPEC)
        info = await ing.probe(media)
        assert info.num_frames == 10
        np.testing.assert_array_equal(frames, decode_clip_sync(videos.get("h264"), SPEC, settings))
        segments = await ing.decode_segments(media, SPEC.model_copy(update={"segment_s": 0.5}))
        assert [s.frames.shape for s in segments] == [(4, 16, 16, 3)] * 2


async def test_close_removes_every_temp_file(videos: VideoFactory, settings: MediaSettings) -> None:
    ing = MediaIngestor(settings)
    kept = [await ing.from_bytes(videos.get("gif").read_bytes()) for _ in range(3)]
    ing.release(kept[0])
    assert not kept[0].path.exists() and kept[1].path.exists()
    await ing.aclose()
    assert not ing.temp_dir.exists()
    with pytest.raises(RuntimeError):
        await ing.from_bytes(b"x")


async def test_upload_cap(settings: MediaSettings) -> None:
    async with MediaIngestor(settings.model_copy(update={"max_bytes": 10})) as ing:
        with pytest.raises(ServiceError) as err:
            await ing.from_bytes(b"x" * 11)
        assert err.value.code == "payload_too_large"


async def test_local_paths_only_under_the_root(
    videos: VideoFactory, settings: MediaSettings, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "clip.mp4").write_bytes(videos.get("h264").read_bytes())
    (root / "escape.mp4").symlink_to(videos.get("h264"))
    async with MediaIngestor(settings) as off:
        with pytest.raises(ServiceError) as err:
            await off.from_local_path(root / "clip.mp4")
        assert err.value.code == "url_forbidden"
    async with MediaIngestor(settings.model_copy(update={"local_root": root})) as ing:
        media = await ing.from_local_path("clip.mp4")
        assert not media.owned and (await ing.decode_clip(media, SPEC)).shape == (4, 16, 16, 3)
        ing.release(media)
        assert (root / "clip.mp4").exists()  # never delete files we do not own
        for bad, code in [
            ("escape.mp4", "url_forbidden"),
            ("../x.mp4", "url_forbidden"),
            ("nope.mp4", "fetch_failed"),
        ]:
            with pytest.raises(ServiceError) as err:
                await ing.from_local_path(bad)
            assert err.value.code == code


async def test_concurrent_decodes_respect_the_bound(videos: VideoFactory, settings: MediaSettings) -> None:
    """Count working ffmpeg children while eight decodes run through a bound of two (a decoder gives its permit
    back once it is killed, before it is reaped: a dying one does not count)."""
    bounded = settings.model_copy(update={"max_concurrent_decodes": 2})
    peak = 0
    async with MediaIngestor(bounded) as ing:
        medias = [await ing.from_bytes(videos.get(n).read_bytes()) for n in ["h264", "vp9", "avi", "gif"] * 2]
        task = asyncio.gather(*(ing.decode_clip(m, SPEC) for m in medias))
        while not task.done():
            peak = max(peak, len(working_ffmpeg_children()))
            await asyncio.sleep(0.005)
        results = await task
    assert all(r.shape == (4, 16, 16, 3) for r in results)
    assert 1 <= peak <= 2
