"""The ffprobe-style gate, done with ffmpeg itself: demux the video stream's packets (`-c copy -f framecrc`).

Demuxing without decoding is cheap, reads every packet's exact timestamp (so sampling is correct for
variable frame rate), finds keyframes for the seek strategy, and checks the caps before any decode.
"""

from __future__ import annotations

import re
from pathlib import Path

from service.errors import (
    MediaTooLongError,
    NoVideoStreamError,
    ResolutionTooLargeError,
    UnsupportedMediaError,
)
from service.media.ffmpeg_args import compile_command, open_input
from service.media.models import MediaInfo
from service.media.process_runner import OutputOverflowError, ProcessLimits, ProcessResult, run_limited
from service.media.settings import MediaSettings
from service.media.stream_checks import NOPTS, checked_media_info

_KEY = 0x1
_DISCARD = 0x4
_BYTES_PER_PACKET_LINE = 160
_HEADER = re.compile(r"^#(\w+) 0: (.*)$")


def probe_command(path: Path, settings: MediaSettings, ffmpeg: Path) -> tuple[list[str], ProcessLimits]:
    """The demux-only ffmpeg run and its limits; `interpret_probe` reads its result."""
    packets = open_input(path, settings)["V:0"].output("-", c="copy", format="framecrc")
    argv = compile_command(ffmpeg, packets).argv
    limits = ProcessLimits(
        timeout_s=settings.probe_timeout_s,
        memory_bytes=settings.memory_limit_bytes,
        cpu_s=settings.cpu_limit_s,
        max_stdout_bytes=settings.max_frames * _BYTES_PER_PACKET_LINE + 65536,
    )
    return argv, limits


def too_many_frames(settings: MediaSettings) -> MediaTooLongError:
    """The error for a probe whose output overflowed its cap."""
    return MediaTooLongError(f"more than {settings.max_frames} frames")


def interpret_probe(result: ProcessResult, settings: MediaSettings) -> MediaInfo:
    """MediaInfo from a finished probe run, or the coded error its failure means."""
    if result.returncode != 0:
        if "matches no streams" in result.stderr:
            raise NoVideoStreamError("the file has no video stream")
        if "Picture size" in result.stderr or "max_pixels" in result.stderr:
            raise ResolutionTooLargeError("the frame size exceeds the cap")
        raise UnsupportedMediaError("the file is not a supported video container")
    return _parse(result.stdout.decode("ascii", "replace"), settings)


def probe_media(path: Path, settings: MediaSettings, ffmpeg: Path) -> MediaInfo:
    """Demux `path` and check it against the caps. Blocking.

    Raises UnsupportedMediaError, NoVideoStreamError, MediaTooLongError, ResolutionTooLargeError,
    DecodeFailedError or DeadlineExceededError.
    """
    argv, limits = probe_command(path, settings, ffmpeg)
    try:
        result = run_limited(argv, limits)
    except OutputOverflowError as exc:
        raise too_many_frames(settings) from exc
    return interpret_probe(result, settings)


def _parse(text: str, settings: MediaSettings) -> MediaInfo:
    header: dict[str, str] = {}
    frames: list[tuple[int, int, bool]] = []  # (pts, duration, keyframe)
    prev_end = 0
    for line in text.splitlines():
        if line.startswith("#"):
            m = _HEADER.match(line)
            if m:
                header[m.group(1)] = m.group(2).strip()
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 6 or fields[0] != "0":
            continue
        try:
            dts, pts, duration = int(fields[1]), int(fields[2]), int(fields[3])
        except ValueError:
            continue
        flags = _KEY
        for extra in fields[6:]:
            if extra.startswith("F="):
                flags = int(extra[2:], 16)
        if flags & _DISCARD:
            continue
        if pts == NOPTS:
            pts = dts if dts != NOPTS else prev_end
        prev_end = pts + max(duration, 0)
        frames.append((pts, duration, bool(flags & _KEY)))
    if header.get("media_type", "video") != "video":
        raise NoVideoStreamError("the file has no video stream")
    width, height = _dimensions(header.get("dimensions", ""))
    codec = header.get("codec_id", "unknown")
    return checked_media_info(codec, width, height, _time_base(header.get("tb", "")), frames, settings)


def _dimensions(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)x(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def _time_base(text: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"(\d+)/(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None
