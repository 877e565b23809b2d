"""Small real media files made with ffmpeg's lavfi sources, for the manifest and tar tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def make_video(path: Path, source: str = "testsrc", seconds: float = 1.0, size: str = "96x64") -> Path:
    """An H.264 mp4 of `seconds` at 10 fps from a lavfi source ("testsrc", "color=c=red")."""
    separator = ":" if "=" in source else "="
    subprocess.run(
        [
            ffmpeg(), "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"{source}{separator}size={size}:rate=10:duration={seconds}",
            "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def make_image(path: Path, colour: str = "blue", size: str = "80x48") -> Path:
    """A one-colour png or jpg (by `path`'s suffix)."""
    subprocess.run(
        [
            ffmpeg(), "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"color=c={colour}:size={size}", "-frames:v", "1", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path
