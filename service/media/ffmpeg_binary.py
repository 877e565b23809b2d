"""Locate the ffmpeg executable: the system one, or the static build shipped in the imageio-ffmpeg wheel.

Only `ffmpeg` is needed (the probe demuxes with `-f framecrc` rather than calling ffprobe), so a
pip-only install without root works.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
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


@functools.lru_cache(maxsize=8)
def reads_option_files(ffmpeg: Path) -> bool:
    """Whether `ffmpeg` reads an option's value from a file as `-/option file` (ffmpeg 7 and later, whose
    8.0 dropped `-filter_complex_script`); older builds only know `-filter_complex_script`.

    Asked once per binary (`ffmpeg -version`, a few tens of ms) and remembered: a binary does not change
    under a running process. A version string without a release number (a git build) counts as new.
    """
    try:
        out = subprocess.run(
            [str(ffmpeg), "-hide_banner", "-version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InternalError(f"ffmpeg binary {ffmpeg} does not run") from exc
    match = re.match(r"ffmpeg version n?(\d+)\.", out)
    return match is None or int(match.group(1)) >= 7
