"""ffmpeg command lines: the input-side options shared by every run (what ffmpeg may open and how big), and
the compilation of an ffmpeg-python graph into the argv that the sandboxed runner executes.

Graphs are described with ffmpeg-python (`ffmpeg.input(...).filter(...).output(...)`), which also does the
filter-graph escaping; only its argv compilation is used, never its process runner, so every process still
goes through `process_runner` (rlimits, own process group, time and output caps).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from service.media.ffmpeg_binary import reads_option_files
from service.media.settings import MediaSettings

# Options for the whole run; ffmpeg-python would put them after the output, so they go with the binary.
GLOBAL_ARGS = ("-nostdin", "-hide_banner", "-loglevel", "error")
# Above this many characters the filter graph goes to a script file: Linux caps one argv string at
# 128 KiB, and a long command line is also visible to every user in /proc.
INLINE_LIMIT_CHARS = 8192


def input_options(
    settings: MediaSettings, *, seek_s: float | None = None, threads: int | None = None
) -> dict[str, str]:
    """Per-input options: local files only, allow-listed demuxers, bounded frame size, decoder threads.

    `threads` overrides `settings.decoder_threads` (the seek strategy opens many decoders at once).

    `seek_s` is an absolute stream timestamp (`-seek_timestamp 1`), so it never depends on a
    container start time that the probe cannot see.
    """
    options = {
        "threads": str(settings.decoder_threads if threads is None else threads),
        "protocol_whitelist": "file",
        "format_whitelist": settings.format_whitelist,
        "max_pixels": str(settings.max_pixels),
    }
    if seek_s is not None:
        options |= {"seek_timestamp": "1", "ss": f"{seek_s:.6f}"}
    return options


def open_input(
    path: Path, settings: MediaSettings, *, seek_s: float | None = None, threads: int | None = None
) -> Any:
    """The ffmpeg-python input node of `path` with `input_options`; index it (`['V:0']`) for a stream."""
    # "file:" keeps a path with a colon from being read as another protocol.
    return ffmpeg.input(f"file:{path}", **input_options(settings, seek_s=seek_s, threads=threads))


def input_args(
    path: Path, settings: MediaSettings, *, seek_s: float | None = None, threads: int | None = None
) -> list[str]:
    """The global options and one `-i` with `input_options`, for callers that write their own argv."""
    options = input_options(settings, seek_s=seek_s, threads=threads)
    flags = [arg for key, value in options.items() for arg in (f"-{key}", value)]
    return [*GLOBAL_ARGS, *flags, "-i", f"file:{path}"]


def raw_frames_output(stream: Any, frames: int) -> Any:
    """`stream` written to stdout as `frames` rgb24 frames, one per decoded frame (no duplication)."""
    options = {"fps_mode": "passthrough", "frames:v": str(frames), "pix_fmt": "rgb24"}
    return stream.output("-", format="rawvideo", **options)


@dataclass(frozen=True)
class FfmpegCommand:
    """An ffmpeg argv and the filter script file it reads, if any (the caller deletes it afterwards)."""

    argv: list[str]
    script: Path | None = None

    def remove_script(self) -> None:
        if self.script is not None:
            with contextlib.suppress(FileNotFoundError):
                self.script.unlink()


def compile_command(
    ffmpeg_binary: Path,
    output: Any,
    scratch_dir: Path | None = None,
    inline_limit: int = INLINE_LIMIT_CHARS,
) -> FfmpegCommand:
    """The argv of the ffmpeg-python `output` node; a filter graph longer than `inline_limit` characters is
    moved to a script file in `scratch_dir` (None: the system temp directory)."""
    argv: list[str] = output.compile(cmd=[str(ffmpeg_binary), *GLOBAL_ARGS])
    if "-filter_complex" not in argv:
        return FfmpegCommand(argv)
    at = argv.index("-filter_complex")
    graph = argv[at + 1]
    if len(graph) <= inline_limit:
        return FfmpegCommand(argv)
    fd, name = tempfile.mkstemp(prefix="select-", suffix=".txt", dir=scratch_dir)
    script = Path(name)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(graph)
    option = "-/filter_complex" if reads_option_files(ffmpeg_binary) else "-filter_complex_script"
    # ffmpeg opens the script through its protocol layer: "file:" keeps a colon in the path harmless.
    return FfmpegCommand([*argv[:at], option, f"file:{script}", *argv[at + 2 :]], script)
