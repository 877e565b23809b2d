"""Decode training media into the exact frames the service computes for the same file.

Videos go through `service.media.decode_clip_sync` (same frame sampling, crop and resize). Images become
one-frame videos: the service's demuxer allow-list excludes image2, so they are decoded here, but through
the service's own `shape_filter`, so the pixels match what a one-frame video would give.
"""

from __future__ import annotations

import subprocess
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
import numpy.typing as npt

from service.media import MediaSettings, SamplingSpec, decode_clip_sync
from service.media.ffmpeg_binary import find_ffmpeg
from service.media.frame_decoder import shape_filter
from training.data.shards import IMAGE_SUFFIXES

_IMAGE_TIMEOUT_S = 30.0


def is_image(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def decode_image(path: Path, spec: SamplingSpec, settings: MediaSettings) -> npt.NDArray[np.uint8]:
    """frames: [1, S, S, 3] uint8."""
    size = spec.image_size
    argv = [
        str(find_ffmpeg(settings)),
        "-nostdin", "-hide_banner", "-loglevel", "error",
        "-i", f"file:{path}",
        "-frames:v", "1",
        "-vf", shape_filter(size, spec.resize_mode),
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, timeout=_IMAGE_TIMEOUT_S, check=False)
    expected = size * size * 3
    if result.returncode != 0 or len(result.stdout) != expected:
        raise ValueError(f"cannot decode image {path}: {result.stderr.decode(errors='replace').strip()}")
    return np.frombuffer(result.stdout, dtype=np.uint8).reshape(1, size, size, 3)


def decode_media(path: Path, spec: SamplingSpec, settings: MediaSettings) -> npt.NDArray[np.uint8]:
    """frames: [T, S, S, 3] uint8, or [1, S, S, 3] for an image."""
    if is_image(path.name):
        return decode_image(path, spec, settings)
    return np.asarray(decode_clip_sync(path, spec, settings))


def decode_media_bytes(
    data: bytes, suffix: str, spec: SamplingSpec, settings: MediaSettings
) -> npt.NDArray[np.uint8]:
    """Decode in-memory media (a tar member, a download) through a temporary file ffmpeg can seek in."""
    with tempfile.NamedTemporaryFile(suffix=suffix, dir=settings.temp_dir) as handle:
        handle.write(data)
        handle.flush()
        return decode_media(Path(handle.name), spec, settings)


def decode_location(location: str, spec: SamplingSpec, settings: MediaSettings) -> npt.NDArray[np.uint8]:
    """Decode a local path or an http(s) URL (training corpora are trusted; the service's fetcher is not
    needed here)."""
    if location.startswith(("http://", "https://")):
        with urllib.request.urlopen(location, timeout=settings.total_timeout_s) as response:
            data = response.read(settings.max_bytes + 1)
        if len(data) > settings.max_bytes:
            raise ValueError(f"{location} is larger than {settings.max_bytes} bytes")
        return decode_media_bytes(data, Path(location.split("?")[0]).suffix or ".mp4", spec, settings)
    return decode_media(Path(location), spec, settings)
