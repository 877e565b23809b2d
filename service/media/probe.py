"""The ffprobe-style gate, done with ffmpeg itself: demux the video stream's packets (`-c copy -f framecrc`).

Demuxing without decoding is cheap, reads every packet's exact timestamp (so sampling is correct for
variable frame rate), finds keyframes for the seek strategy, and checks the caps before any decode.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from service.errors import (
    DecodeFailedError,
    MediaTooLongError,
    NoVideoStreamError,
    ResolutionTooLargeError,
    UnsupportedMediaError,
)
from service.media.ffmpeg_args import compile_command, open_input
from service.media.models import MediaInfo
from service.media.process_runner import OutputOverflowError, ProcessLimits, ProcessResult, run_limited
from service.media.settings import MediaSettings

_NOPTS = -(2**63)
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
    frames: list[tuple[int, bool]] = []  # (pts, keyframe)
    end_pts = _NOPTS
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
        if pts == _NOPTS:
            pts = dts if dts != _NOPTS else prev_end
        prev_end = pts + max(duration, 0)
        end_pts = max(end_pts, prev_end)
        frames.append((pts, bool(flags & _KEY)))
    if header.get("media_type", "video") != "video":
        raise NoVideoStreamError("the file has no video stream")
    width, height = _dimensions(header.get("dimensions", ""))
    if width * height > settings.max_pixels:
        raise ResolutionTooLargeError(f"{width}x{height} exceeds {settings.max_pixels} pixels")
    if width <= 0 or height <= 0:
        raise DecodeFailedError("the video stream has no frame size")
    if not frames:
        raise DecodeFailedError("the video stream has no frames")
    if len(frames) > settings.max_frames:
        raise MediaTooLongError(f"more than {settings.max_frames} frames")
    codec = header.get("codec_id", "unknown")
    if codec not in settings.codec_allowlist:
        raise UnsupportedMediaError(
            f"video codec {codec!r} is not accepted; allowed: {', '.join(settings.codec_allowlist)}"
        )
    time_base = _time_base(header.get("tb", ""))
    frames.sort(key=lambda f: f[0])
    pts_sorted = tuple(p for p, _ in frames)
    if end_pts <= pts_sorted[-1]:
        # Missing durations: assume the last frame lasts as long as the median gap (or 1/25 s alone).
        gaps = sorted(b - a for a, b in itertools.pairwise(pts_sorted) if b > a)
        fallback = gaps[len(gaps) // 2] if gaps else max(1, time_base[1] // (25 * time_base[0]))
        end_pts = pts_sorted[-1] + fallback
    info = MediaInfo(
        codec=codec,
        width=width,
        height=height,
        time_base=time_base,
        frame_pts=pts_sorted,
        keyframes=tuple(i for i, (_, key) in enumerate(frames) if key),
        end_pts=end_pts,
    )
    if info.duration_s > settings.max_duration_s:
        raise MediaTooLongError(f"{info.duration_s:.1f} s exceeds {settings.max_duration_s:.0f} s")
    return info


def _dimensions(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)x(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def _time_base(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)/(\d+)", text)
    if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
        raise DecodeFailedError("the video stream has no usable time base")
    return int(m.group(1)), int(m.group(2))
