"""Still images (png, jpeg, webp) to one RGB frame, through the same sandboxed ffmpeg runner as videos.

The frame is shaped by the video decoder's own filter chain (`shape_filter`), so an image and a video
frame with the same pixels give the same model input. Only the three single-image demuxers are allowed:
they read exactly one picture from the local file and never open another file or URL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from service.errors import DecodeFailedError, ResolutionTooLargeError, UnsupportedMediaError
from service.media.ffmpeg_args import input_args
from service.media.frame_decoder import shape_filter
from service.media.process_runner import OutputOverflowError, ProcessLimits, ProcessResult
from service.media.settings import MediaSettings

IMAGE_DEMUXERS = ("png_pipe", "jpeg_pipe", "webp_pipe")
IMAGE_FORMATS = "png, jpeg or webp"
# Bytes needed to tell the accepted image formats apart by their signatures, and to read a WebP's VP8X
# header (its flags byte is at offset 20).
SNIFF_BYTES = 32
_WEBP_ANIMATED = 0x02

# Runs an argv under limits in the ingestor's sandbox (decode permits, child tracking).
SandboxRunner = Callable[[list[str], ProcessLimits], Awaitable[ProcessResult]]


def sniff_image(head: bytes) -> str | None:
    """The image format whose signature starts `head` ("png", "jpeg", "webp"), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def animated_webp(head: bytes) -> bool:
    """Whether `head` starts an animated WebP (extended format with the animation flag)."""
    flags = head[20:21]
    return (
        sniff_image(head) == "webp" and head[12:16] == b"VP8X" and bool(flags and flags[0] & _WEBP_ANIMATED)
    )


def file_head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(SNIFF_BYTES)


def sniff_file(path: Path) -> str | None:
    """`sniff_image` of the file's first bytes."""
    return sniff_image(file_head(path))


def image_command(
    ffmpeg: Path, path: Path, settings: MediaSettings, size: int, resize_mode: str
) -> tuple[list[str], ProcessLimits]:
    """The ffmpeg run writing the image at `path` as size x size rgb24 to stdout, and its limits.

    `-err_detect explode` makes a truncated or damaged image fail instead of decoding half a picture with
    grey filler; `-max_pixels` (from `input_args`) refuses oversized pictures before allocating them.
    """
    image_settings = settings.model_copy(update={"allowed_formats": (",".join(IMAGE_DEMUXERS),)})
    argv = [
        str(ffmpeg),
        "-err_detect", "explode",
        *input_args(path, image_settings),
        "-map", "0:V:0",
        "-vf", shape_filter(size, resize_mode),
        "-frames:v", "1",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]  # fmt: skip
    limits = ProcessLimits(
        timeout_s=settings.decode_timeout_s,
        memory_bytes=settings.memory_limit_bytes,
        cpu_s=settings.cpu_limit_s,
        max_stdout_bytes=size * size * 3,
    )
    return argv, limits


def interpret_image(result: ProcessResult, size: int) -> npt.NDArray[np.uint8]:
    """The decoded uint8 [size, size, 3] frame, or the coded error the failed run means."""
    frame_bytes = size * size * 3
    if result.returncode == 0 and len(result.stdout) == frame_bytes:
        return np.frombuffer(result.stdout, dtype=np.uint8).reshape(size, size, 3)
    if "max pixel count" in result.stderr or "Picture size" in result.stderr:
        raise ResolutionTooLargeError(
            "the image has more pixels than the server accepts (VIDEOPRISM_MEDIA_MAX_PIXELS)"
        )
    raise DecodeFailedError("the image is damaged or truncated and could not be decoded")


def not_an_image() -> UnsupportedMediaError:
    return UnsupportedMediaError(
        f"the image item is not a {IMAGE_FORMATS} file; a video goes in the item's `url` or `data`"
    )


async def decode_image(
    run: SandboxRunner, ffmpeg: Path, path: Path, settings: MediaSettings, size: int, resize_mode: str
) -> npt.NDArray[np.uint8]:
    """Decode the image file at `path` to uint8 [size, size, 3] RGB with `run` (the ingestor's sandbox).

    Raises unsupported_media (not an accepted image), resolution_too_large, decode_failed (damaged).
    """
    head = file_head(path)
    # ffmpeg's image demuxers need these signatures too; checking first gives a clearer error for free.
    if sniff_image(head) is None:
        raise not_an_image()
    if animated_webp(head):
        # ffmpeg's webp decoder reads still pictures only.
        raise UnsupportedMediaError(
            "animated webp is not supported: send a still image, or the animation as a video"
        )
    argv, limits = image_command(ffmpeg, path, settings, size, resize_mode)
    try:
        result = await run(argv, limits)
    except OutputOverflowError as exc:
        raise DecodeFailedError("ffmpeg returned more than one picture for the image") from exc
    return interpret_image(result, size)
