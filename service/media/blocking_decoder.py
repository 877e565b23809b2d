"""Blocking decode of trusted local files for offline users (training data loaders): the service's pixels.

Videos go through `decode_clip_sync` (the service's sampling, crop and resize). Images become one-frame
videos: the service's demuxer allow-list excludes image2, so they are decoded here, but through the same
`shape_filter`, so the pixels match what a one-frame video would give. Failures are `ValueError`s carrying
the service's error code, so a caller that skips undecodable files needs no service import.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt

from service.errors import ServiceError
from service.media.decode import decode_clip_sync
from service.media.ffmpeg_binary import find_ffmpeg
from service.media.frame_decoder import shape_filter
from service.media.settings import MediaSettings, SamplingSpec

_IMAGE_TIMEOUT_S = 30.0


class BlockingFrameDecoder:
    """frames [T, S, S, 3] uint8 for a video, [1, S, S, 3] for an image, sampled by `spec`."""

    def __init__(self, spec: SamplingSpec, settings: MediaSettings | None = None) -> None:
        self.spec = spec
        self.settings = settings or MediaSettings()

    def decode_video(self, path: Path) -> npt.NDArray[np.uint8]:
        try:
            return np.asarray(decode_clip_sync(path, self.spec, self.settings))
        except ServiceError as exc:
            raise ValueError(f"cannot decode video {path}: {exc.code}: {exc.message}") from exc

    def decode_image(self, path: Path) -> npt.NDArray[np.uint8]:
        size = self.spec.image_size
        try:
            ffmpeg = find_ffmpeg(self.settings)
        except ServiceError as exc:
            raise ValueError(f"cannot decode image {path}: {exc.code}: {exc.message}") from exc
        argv = [
            str(ffmpeg),
            "-nostdin", "-hide_banner", "-loglevel", "error",
            "-i", f"file:{path}",
            "-frames:v", "1",
            "-vf", shape_filter(size, self.spec.resize_mode),
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
        ]  # fmt: skip
        result = subprocess.run(argv, capture_output=True, timeout=_IMAGE_TIMEOUT_S, check=False)
        if result.returncode != 0 or len(result.stdout) != size * size * 3:
            raise ValueError(f"cannot decode image {path}: {result.stderr.decode(errors='replace').strip()}")
        return np.frombuffer(result.stdout, dtype=np.uint8).reshape(1, size, size, 3)
