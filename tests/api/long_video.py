"""A 20-minute lavfi video (64x48 at 10 fps, a few hundred KiB), generated once per session by the
long-video tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

LONG_VIDEO_S = 1200
SEGMENT_S = 2.0
SEGMENTS = 600


def make_long_video(path: Path, seconds: int = LONG_VIDEO_S) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=64x48:rate=10:duration={seconds}",
         "-c:v", "mpeg4", "-g", "50", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path
