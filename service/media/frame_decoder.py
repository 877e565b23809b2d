"""Decode chosen frames of a local file to RGB uint8 [K, S, S, 3] in one ffmpeg subprocess.

`decode_command` builds the ffmpeg invocation (shared with the streaming decoder in `frame_stream.py`, so
both give the same pixels); `decode_frames` runs it to completion for short clips.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.errors import DecodeFailedError
from service.media.ffmpeg_args import input_args
from service.media.models import Frames, MediaInfo
from service.media.process_groups import ChildTracker
from service.media.process_runner import OutputOverflowError, ProcessLimits, run_limited
from service.media.select_expr import INLINE_LIMIT_CHARS, select_expression
from service.media.settings import MediaSettings
from service.media.strategy import DecodePlan, keyframe_before

_SCALE_FLAGS = "lanczos+accurate_rnd+full_chroma_int+full_chroma_inp"


def shape_filter(size: int, resize_mode: str) -> str:
    """Filter chain from a decoded (already auto-rotated) frame to size x size RGB.

    "crop" takes the centred square of side min(w, h) first and then scales it, which equals shorter-side
    resize + centre crop but never builds a huge intermediate for extreme aspect ratios.
    """
    resize = f"scale={size}:{size}:flags={_SCALE_FLAGS}"
    if resize_mode == "crop":
        return f"crop='min(iw,ih)':'min(iw,ih)',{resize},format=rgb24"
    return f"{resize},format=rgb24"


def _seek_point(info: MediaInfo, index: int) -> float:
    """An absolute time a little before frame `index`, after the frame preceding it."""
    pts = info.frame_pts
    gap = pts[index] - pts[index - 1] if index > 0 else pts[1] - pts[0] if len(pts) > 1 else 1
    return info.seconds(pts[index]) - min(info.seconds(max(gap, 1)) / 2, 0.001)


@dataclass(frozen=True)
class DecodeCommand:
    """An ffmpeg argv and the filter script file it reads, if any (the caller deletes it afterwards)."""

    argv: list[str]
    script: Path | None

    def remove_script(self) -> None:
        if self.script is not None:
            with contextlib.suppress(FileNotFoundError):
                self.script.unlink()


def _one_pass_command(
    ffmpeg: Path,
    path: Path,
    info: MediaInfo,
    unique: list[int],
    size: int,
    mode: str,
    settings: MediaSettings,
    scratch_dir: Path | None,
) -> DecodeCommand:
    first = unique[0]
    seek = keyframe_before(info, first) > 0
    offset = first if seek else 0
    graph = f"select='{select_expression([i - offset for i in unique])}',{shape_filter(size, mode)}"
    script: Path | None = None
    if len(graph) > INLINE_LIMIT_CHARS:
        fd, name = tempfile.mkstemp(prefix="select-", suffix=".txt", dir=scratch_dir)
        script = Path(name)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(graph)
        # ffmpeg opens the script through its protocol layer: "file:" keeps a colon in the path harmless.
        filter_args = ["-filter_script:v", f"file:{script}"]
    else:
        filter_args = ["-vf", graph]
    argv = [
        str(ffmpeg),
        *input_args(path, settings, seek_s=_seek_point(info, first) if seek else None),
        "-map", "0:V:0",
        *filter_args,
        "-fps_mode", "passthrough",
        "-frames:v", str(len(unique)),
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]  # fmt: skip
    return DecodeCommand(argv, script)


def _seek_argv(
    ffmpeg: Path,
    path: Path,
    info: MediaInfo,
    unique: list[int],
    size: int,
    mode: str,
    settings: MediaSettings,
) -> list[str]:
    inputs: list[str] = []
    chains: list[str] = []
    for k, index in enumerate(unique):
        inputs += input_args(path, settings, seek_s=_seek_point(info, index), threads=1)
        chains.append(f"[{k}:V:0]trim=end_frame=1,{shape_filter(size, mode)}[f{k}]")
    labels = "".join(f"[f{k}]" for k in range(len(unique)))
    graph = ";".join([*chains, f"{labels}concat=n={len(unique)}:v=1:a=0[out]"])
    return [
        str(ffmpeg), *inputs,
        "-filter_complex", graph, "-map", "[out]",
        "-fps_mode", "passthrough",
        "-frames:v", str(len(unique)),
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]  # fmt: skip


def decode_command(
    ffmpeg: Path,
    path: Path,
    info: MediaInfo,
    unique: list[int],
    size: int,
    resize_mode: str,
    plan: DecodePlan,
    settings: MediaSettings,
    scratch_dir: Path | None = None,
) -> DecodeCommand:
    """The ffmpeg run that writes the frames at the sorted, distinct indices `unique` as rgb24 to stdout.

    A long frame list goes to a filter script file in `scratch_dir` (None: the system temp directory).
    """
    if plan.strategy == "seek":
        return DecodeCommand(_seek_argv(ffmpeg, path, info, unique, size, resize_mode, settings), None)
    return _one_pass_command(ffmpeg, path, info, unique, size, resize_mode, settings, scratch_dir)


def decode_frames(
    ffmpeg: Path,
    path: Path,
    info: MediaInfo,
    unique: list[int],
    size: int,
    resize_mode: str,
    plan: DecodePlan,
    settings: MediaSettings,
    *,
    scratch_dir: Path | None = None,
    tracker: ChildTracker | None = None,
) -> Frames:
    """Frames at the sorted, distinct indices `unique` as uint8 [len(unique), size, size, 3].

    If the stream ends early (a truncated file) the missing tail repeats the last decoded frame; no
    decoded frame at all raises DecodeFailedError. Timeouts raise DeadlineExceededError.
    """
    command = decode_command(ffmpeg, path, info, unique, size, resize_mode, plan, settings, scratch_dir)
    frame_bytes = size * size * 3
    limits = ProcessLimits(
        timeout_s=settings.decode_timeout_s,
        memory_bytes=settings.memory_limit_bytes,
        cpu_s=settings.cpu_limit_s,
        max_stdout_bytes=frame_bytes * len(unique),
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
    if count < len(unique):
        pad = np.repeat(frames[-1:], len(unique) - count, axis=0)
        frames = np.concatenate([frames, pad], axis=0)
    return frames
