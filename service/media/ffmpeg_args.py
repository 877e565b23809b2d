"""Input-side ffmpeg options shared by the probe and the decoders: what ffmpeg may open and how big."""

from __future__ import annotations

from pathlib import Path

from service.media.settings import MediaSettings


def input_args(
    path: Path, settings: MediaSettings, *, seek_s: float | None = None, threads: int | None = None
) -> list[str]:
    """Options and `-i` for one input: local files only, allow-listed demuxers, bounded frame size.

    `threads` overrides `settings.decoder_threads` (the seek strategy opens many decoders at once).

    `seek_s` is an absolute stream timestamp (`-seek_timestamp 1`), so it never depends on a
    container start time that the probe cannot see.
    """
    args = [
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-threads",
        str(settings.decoder_threads if threads is None else threads),
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        settings.format_whitelist,
        "-max_pixels",
        str(settings.max_pixels),
    ]
    if seek_s is not None:
        args += ["-seek_timestamp", "1", "-ss", f"{seek_s:.6f}"]
    # "file:" keeps a path with a colon from being read as another protocol.
    return [*args, "-i", f"file:{path}"]
