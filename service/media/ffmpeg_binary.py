"""Locate the ffmpeg executable: the system one, or the static build shipped in the imageio-ffmpeg wheel.

Only `ffmpeg` is needed (the probe demuxes with `-f framecrc` rather than calling ffprobe), so a
pip-only install without root works.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from service.errors import InternalError
from service.media.settings import MediaSettings


def find_ffmpeg(settings: MediaSettings) -> Path:
    """Absolute path of the ffmpeg binary chosen by `settings.ffmpeg`. Raises InternalError if none."""
    choice = settings.ffmpeg
    if isinstance(choice, Path):
        if not choice.is_file():
            raise InternalError(f"ffmpeg binary {choice} does not exist")
        return choice
    if choice in ("auto", "system"):
        found = shutil.which("ffmpeg")
        if found:
            return Path(found)
        if choice == "system":
            raise InternalError("ffmpeg is not on PATH")
    try:
        import imageio_ffmpeg
    except ImportError as exc:
        raise InternalError("no ffmpeg: install it or the imageio-ffmpeg wheel") from exc
    return Path(imageio_ffmpeg.get_ffmpeg_exe())
