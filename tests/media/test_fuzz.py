"""Mutated media: every outcome is a coded error or a well-formed result, and nothing leaks."""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import numpy as np
import pytest

from service.errors import ServiceError
from service.media import MediaIngestor, MediaSettings, SamplingSpec
from tests.media.procs import ffmpeg_children
from tests.media.videos import VideoFactory

SEEDS = ["h264", "vp9", "avi", "gif", "faststart", "vfr"]
SPEC = SamplingSpec(num_frames=3, image_size=8)


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(["flip", "zero", "truncate", "splice", "insert", "duplicate"])
        if not out:
            break
        pos = rng.randrange(len(out))
        if kind == "flip":
            for _ in range(rng.randint(1, 32)):
                out[rng.randrange(len(out))] = rng.randrange(256)
        elif kind == "zero":
            out[pos : pos + rng.randint(1, 512)] = bytes(min(512, len(out) - pos))
        elif kind == "truncate":
            del out[pos:]
        elif kind == "splice":
            del out[pos : pos + rng.randint(1, 2048)]
        elif kind == "insert":
            out[pos:pos] = rng.randbytes(rng.randint(1, 256))
        else:
            out[pos:pos] = out[max(0, pos - 4096) : pos]
    return bytes(out)


async def run_fuzz(videos: VideoFactory, settings: MediaSettings, count: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    originals = [videos.get(name).read_bytes() for name in SEEDS]
    fds_before = len(os.listdir("/proc/self/fd"))
    outcomes: dict[str, int] = {}
    async with MediaIngestor(settings) as ing:

        async def one(data: bytes) -> str:
            media = await ing.from_bytes(data)
            try:
                frames = await ing.decode_clip(media, SPEC)
            except ServiceError as exc:
                return exc.code
            finally:
                ing.release(media)
            assert frames.shape == (3, 8, 8, 3) and frames.dtype == np.uint8
            return "ok"

        codes = await asyncio.gather(*(one(mutate(rng.choice(originals), rng)) for _ in range(count)))
        for code in codes:
            outcomes[code] = outcomes.get(code, 0) + 1
        assert list(ing.temp_dir.iterdir()) == []
    assert ffmpeg_children(zombies=True) == []
    assert len(os.listdir("/proc/self/fd")) == fds_before
    assert list(Path(settings.temp_dir or "/nonexistent").iterdir()) == []
    return outcomes


async def test_fuzz_small(videos: VideoFactory, settings: MediaSettings) -> None:
    outcomes = await run_fuzz(videos, settings, count=40, seed=7)
    assert sum(outcomes.values()) == 40
    assert set(outcomes) <= {"ok", "unsupported_media", "decode_failed", "no_video_stream", "resolution_too_large",
                             "media_too_long", "invalid_request"}  # fmt: skip


@pytest.mark.slow
async def test_fuzz_many(videos: VideoFactory, settings: MediaSettings) -> None:
    outcomes = await run_fuzz(videos, settings, count=240, seed=11)
    assert sum(outcomes.values()) == 240
    assert outcomes.get("ok", 0) > 0 and len(outcomes) > 1  # the mutations reach both outcomes
