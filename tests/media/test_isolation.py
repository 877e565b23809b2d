"""ffmpeg isolation: a wall-clock limit that kills the whole process group, and rlimits."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from service.errors import ServiceError
from service.media import MediaSettings, SamplingSpec, decode_clip_sync
from service.media.process_runner import ProcessLimits, run_limited
from tests.media.procs import alive
from tests.media.videos import VideoFactory


def test_hanging_ffmpeg_and_its_children_are_killed(tmp_path: Path, settings: MediaSettings) -> None:
    # A stand-in for an ffmpeg that hangs: a fault the real binary does not produce on demand.
    pids = tmp_path / "pids"
    fake = tmp_path / "ffmpeg"
    fake.write_text(f"#!/bin/sh\nsleep 60 &\necho $! >> {pids}\necho $$ >> {pids}\nsleep 60\n")
    fake.chmod(0o755)
    hung = settings.model_copy(update={"ffmpeg": fake, "probe_timeout_s": 0.5})
    started = time.monotonic()
    with pytest.raises(ServiceError) as err:
        decode_clip_sync(tmp_path / "any.mp4", SamplingSpec(num_frames=1, image_size=8), hung)
    assert err.value.code == "deadline_exceeded"
    assert time.monotonic() - started < 5
    recorded = [int(p) for p in pids.read_text().split()]
    assert len(recorded) == 2
    deadline = time.monotonic() + 3
    while any(alive(p) for p in recorded) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in recorded)


def test_rlimits_are_applied_to_the_child() -> None:
    result = run_limited(
        ["/bin/sh", "-c", "ulimit -v; ulimit -t"],
        ProcessLimits(timeout_s=5, memory_bytes=512 * 1024 * 1024, cpu_s=7, max_stdout_bytes=1000),
    )
    assert result.stdout.split() == [b"524288", b"7"]


def test_memory_limit_turns_into_a_coded_error(videos: VideoFactory, settings: MediaSettings) -> None:
    starved = settings.model_copy(update={"memory_limit_bytes": 16 * 1024 * 1024})
    with pytest.raises(ServiceError) as err:
        decode_clip_sync(videos.get("h264"), SamplingSpec(num_frames=2, image_size=8), starved)
    assert err.value.code in {"unsupported_media", "decode_failed"}


def test_no_descriptor_leak_across_many_runs(videos: VideoFactory, settings: MediaSettings) -> None:
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        decode_clip_sync(videos.get("gif"), SamplingSpec(num_frames=2, image_size=8), settings)
        with pytest.raises(ServiceError):
            decode_clip_sync(videos.get("random"), SamplingSpec(num_frames=2, image_size=8), settings)
    assert len(os.listdir("/proc/self/fd")) == before
