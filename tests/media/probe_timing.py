"""Time the two probe paths on one clip: the ffmpeg probe process vs the in-process MP4 index (not a test).

    .venv/bin/python -m tests.media.probe_timing [clip.mp4] [--runs 50]

Without a clip it makes a `bikes.mp4`-like one (10 s, 640x272, 25 fps, H.264 with B-frames, AAC). Prints
median wall and CPU milliseconds per call; the probe's CPU includes its ffmpeg child.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from service.media import MediaSettings
from service.media.ffmpeg_binary import find_ffmpeg
from service.media.mp4_index import read_mp4_index
from service.media.probe import probe_media
from tests.media.videos import ffmpeg


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _measure(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median (wall ms, CPU ms) of `runs` calls after one warm-up call."""
    call()
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), _cpu_s()
        call()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((_cpu_s() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("clip", nargs="?", type=Path)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    settings = MediaSettings()
    with tempfile.TemporaryDirectory() as tmp:
        clip = args.clip
        if clip is None:
            clip = Path(tmp) / "clip.mp4"
            ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x272:rate=25:duration=10", "-f", "lavfi",
                   "-i", "sine=duration=10", "-c:v", "libx264", "-c:a", "aac", str(clip))  # fmt: skip
        binary = find_ffmpeg(settings)
        if read_mp4_index(clip, settings) != probe_media(clip, settings, binary):
            raise SystemExit(f"{clip}: the index does not answer, or differs from the probe")
        for name, call in (
            ("ffmpeg probe process", lambda: probe_media(clip, settings, binary)),
            ("in-process mp4 index", lambda: read_mp4_index(clip, settings)),
        ):
            wall, cpu = _measure(call, args.runs)
            print(f"{name:22s} {wall:8.2f} ms wall  {cpu:8.2f} ms CPU  (median of {args.runs}, {binary})")


if __name__ == "__main__":
    main()
