"""Training media (local files, in-memory tar members, http(s) URLs) handed to a frame decoder.

Training never imports the server, so the decoder is passed in: `service.media.blocking_decoder.BlockingFrameDecoder` gives
the exact frames the service computes for the same file (same sampling, crop and resize), and any object
with the two methods of `FrameDecoder` can stand in for it.
"""

from __future__ import annotations

import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from training.data.shards import IMAGE_SUFFIXES

Frames = npt.NDArray[np.uint8]


class FrameDecoder(Protocol):
    """Decodes one local file; raises ValueError or OSError for a file it cannot decode."""

    def decode_video(self, path: Path) -> Frames:
        """frames: [T, S, S, 3] uint8."""
        ...

    def decode_image(self, path: Path) -> Frames:
        """frames: [1, S, S, 3] uint8, a one-frame video."""
        ...


def is_image(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


@dataclass(frozen=True)
class MediaReader:
    """Where training media comes from, and the limits on downloading it."""

    decoder: FrameDecoder
    temp_dir: Path | None = None  # None: the system temp directory
    max_download_bytes: int = 200 * 1024 * 1024
    download_timeout_s: float = 60.0

    def decode_file(self, path: Path) -> Frames:
        """frames: [T, S, S, 3] uint8, or [1, S, S, 3] for an image."""
        if is_image(path.name):
            return self.decoder.decode_image(path)
        return self.decoder.decode_video(path)

    def decode_bytes(self, data: bytes, suffix: str) -> Frames:
        """Decode in-memory media (a tar member, a download) through a temporary file ffmpeg can seek in."""
        with tempfile.NamedTemporaryFile(suffix=suffix, dir=self.temp_dir) as handle:
            handle.write(data)
            handle.flush()
            return self.decode_file(Path(handle.name))

    def decode_location(self, location: str) -> Frames:
        """Decode a local path or an http(s) URL (training corpora are trusted; the service's SSRF-safe
        fetcher is not needed here)."""
        if location.startswith(("http://", "https://")):
            with urllib.request.urlopen(location, timeout=self.download_timeout_s) as response:
                data = response.read(self.max_download_bytes + 1)
            if len(data) > self.max_download_bytes:
                raise ValueError(f"{location} is larger than {self.max_download_bytes} bytes")
            return self.decode_bytes(data, Path(location.split("?")[0]).suffix or ".mp4")
        return self.decode_file(Path(location))
