"""Media fixtures of the reliability suite: a real clip, loopback origins (normal, slow, 404) and the
stand-in ffmpeg that hangs."""

from __future__ import annotations

import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.cluster.origin import LoopbackOrigin


def make_clip(path: Path, seconds: int = 2) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=10", "-t", str(seconds),
         "-c:v", "mpeg4", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


@contextmanager
def origin(payload: bytes, delay_s: float = 0.0) -> Iterator[int]:
    """Loopback HTTP origin: `/clip.mp4` answers `payload` after `delay_s`, anything else 404. Yields the port."""
    served = LoopbackOrigin(payload, lambda: time.sleep(delay_s), path="/clip.mp4")
    try:
        yield served.port
    finally:
        served.close()


def hanging_ffmpeg(directory: Path) -> Path:
    """A stand-in `ffmpeg` that answers `-version` like the real one (startup checks pass) and otherwise
    sleeps forever, as a decoder stuck on a pathological file would. Returns the directory to put on PATH."""
    real = shutil.which("ffmpeg") or "ffmpeg"
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        "# Stand-in ffmpeg for the decoder-hang fault (tests/reliability): hangs on every real job.\n"
        f'for arg in "$@"; do [ "$arg" = "-version" ] && exec {real} "$@"; done\n'
        "exec sleep 100000\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return directory
