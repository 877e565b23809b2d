"""Decode chosen frames of a local file to RGB uint8 [K, S, S, 3] in one ffmpeg subprocess.

`decode_command` builds the ffmpeg invocation as an ffmpeg-python graph compiled to the argv that the
sandboxed runner executes (shared with the streaming decoder in `frame_stream.py`, so both give the same
pixels); `decode_frames` runs it to completion for short clips.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ffmpeg
import numpy as np

from service.errors import DecodeFailedError
from service.media.ffmpeg_args import FfmpegCommand, compile_command, open_input, raw_frames_output
from service.media.models import Frames, MediaInfo
from service.media.process_groups import ChildTracker
from service.media.process_runner import OutputOverflowError, ProcessLimits, run_limited
from service.media.select_expr import select_expression
from service.media.settings import MediaSettings
from service.media.strategy import DecodePlan, keyframe_before

_SCALE_FLAGS = "lanczos+accurate_rnd+full_chroma_int+full_chroma_inp"

_Step = tuple[str, tuple[str, ...], dict[str, str]]  # filter name, positional args, named args


def _shape_steps(size: int, resize_mode: str) -> list[_Step]:
    """The filters from a decoded (already auto-rotated) frame to size x size RGB.

    "crop" takes the centred square of side min(w, h) first and then scales it, which equals shorter-side
    resize + centre crop but never builds a huge intermediate for extreme aspect ratios.
    """
    resize: _Step = ("scale", (str(size), str(size)), {"flags": _SCALE_FLAGS})
    crop: _Step = ("crop", ("min(iw,ih)", "min(iw,ih)"), {})
    return [*([crop] if resize_mode == "crop" else []), resize, ("format", ("rgb24",), {})]


def shape_stream(stream: Any, size: int, resize_mode: str) -> Any:
    """`stream` (an ffmpeg-python stream) through the shaping filters of `shape_filter`."""
    for name, args, kwargs in _shape_steps(size, resize_mode):
        stream = stream.filter(name, *args, **kwargs)
    return stream


def shape_filter(size: int, resize_mode: str) -> str:
    """The shaping chain as a `-vf` string, for callers that write their own argv (same filters)."""
    parts = []
    for name, args, kwargs in _shape_steps(size, resize_mode):
        values = [f"'{a}'" if "," in a else a for a in args] + [f"{k}={v}" for k, v in kwargs.items()]
        parts.append(f"{name}={':'.join(values)}")
    return ",".join(parts)


def _seek_point(info: MediaInfo, index: int) -> float:
    """An absolute time a little before frame `index`, after the frame preceding it."""
    pts = info.frame_pts
    gap = pts[index] - pts[index - 1] if index > 0 else pts[1] - pts[0] if len(pts) > 1 else 1
    return info.seconds(pts[index]) - min(info.seconds(max(gap, 1)) / 2, 0.001)


def _one_pass_output(
    path: Path, info: MediaInfo, unique: list[int], size: int, mode: str, settings: MediaSettings
) -> Any:
    first = unique[0]
    seek = keyframe_before(info, first) > 0
    offset = first if seek else 0
    video = open_input(path, settings, seek_s=_seek_point(info, first) if seek else None)["V:0"]
    selected = video.filter("select", select_expression([i - offset for i in unique]))
    return raw_frames_output(shape_stream(selected, size, mode), len(unique))


def _seek_output(
    path: Path, info: MediaInfo, unique: list[int], size: int, mode: str, settings: MediaSettings
) -> Any:
    # One input per frame, each seeked just before it and cut to its first decoded frame.
    frames = [
        shape_stream(
            open_input(path, settings, seek_s=_seek_point(info, index), threads=1)["V:0"].trim(end_frame=1),
            size,
            mode,
        )
        for index in unique
    ]
    joined = frames[0] if len(frames) == 1 else ffmpeg.concat(*frames, v=1, a=0)
    return raw_frames_output(joined, len(unique))


def decode_command(
    ffmpeg_binary: Path,
    path: Path,
    info: MediaInfo,
    unique: list[int],
    size: int,
    resize_mode: str,
    plan: DecodePlan,
    settings: MediaSettings,
    scratch_dir: Path | None = None,
) -> FfmpegCommand:
    """The ffmpeg run that writes the frames at the sorted, distinct indices `unique` as rgb24 to stdout.

    A long filter graph goes to a script file in `scratch_dir` (None: the system temp directory).
    """
    # ffmpeg-python merges identical inputs into one node: two frames sharing a seek point need one pass.
    if plan.strategy == "seek" and len({f"{_seek_point(info, i):.6f}" for i in unique}) == len(unique):
        output = _seek_output(path, info, unique, size, resize_mode, settings)
    else:
        output = _one_pass_output(path, info, unique, size, resize_mode, settings)
    return compile_command(ffmpeg_binary, output, scratch_dir)


def decode_frames(
    command: FfmpegCommand,
    wanted: int,
    size: int,
    settings: MediaSettings,
    *,
    tracker: ChildTracker | None = None,
) -> Frames:
    """Runs `command` (from `decode_command`) to completion: the `wanted` frames it writes, as uint8
    [wanted, size, size, 3].

    If the stream ends early (a truncated file) the missing tail repeats the last decoded frame; no
    decoded frame at all raises DecodeFailedError. Timeouts raise DeadlineExceededError.
    """
    frame_bytes = size * size * 3
    limits = ProcessLimits(
        timeout_s=settings.decode_timeout_s,
        memory_bytes=settings.memory_limit_bytes,
        cpu_s=settings.cpu_limit_s,
        max_stdout_bytes=frame_bytes * wanted,
    )
    try:
        result = run_limited(command.argv, limits, tracker)
    except OutputOverflowError as exc:
        raise DecodeFailedError("ffmpeg returned more frames than asked") from exc
    finally:
        command.remove_script()
    count = len(result.stdout) // frame_bytes
    if count == 0:
        raise DecodeFailedError("no frame could be decoded")
    frames = np.frombuffer(result.stdout[: count * frame_bytes], dtype=np.uint8).reshape(count, size, size, 3)
    if count < wanted:
        pad = np.repeat(frames[-1:], wanted - count, axis=0)
        frames = np.concatenate([frames, pad], axis=0)
    return frames
