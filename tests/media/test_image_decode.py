"""Still images through the ingestor's sandboxed ffmpeg: formats, shaping like a video frame, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from service.core.media_adapter import MediaIngestorAdapter
from service.core.media_port import ClipRequest
from service.errors import DecodeFailedError, ResolutionTooLargeError, UnsupportedMediaError
from service.media import MediaIngestor, MediaSettings, SamplingSpec
from service.media.image_decode import animated_webp, sniff_image
from tests.media.videos import ffmpeg

FORMATS = ("png", "jpg", "webp")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """testsrc stills 64x48 in each format, a 640x480 jpeg, and a lossless RGB video of the png."""
    folder = tmp_path_factory.mktemp("images")
    for ext in FORMATS:
        ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1", str(folder / f"still.{ext}"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=640x480", "-frames:v", "1", str(folder / "large.jpg"))
    ffmpeg("-loop", "1", "-i", str(folder / "still.png"), "-t", "1", "-r", "10",
           "-c:v", "libx264rgb", "-crf", "0", "-pix_fmt", "rgb24", str(folder / "still.mkv"))  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=5", "-t", "1", "-c:v", "libwebp_anim",
           str(folder / "animated.webp"))  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "1", "-c:v", "mpeg4",
           str(folder / "clip.mp4"))  # fmt: skip
    return folder


async def _decode(settings: MediaSettings, data: bytes, size: int = 16, mode: str = "crop") -> np.ndarray:
    async with MediaIngestor(settings) as ing:
        media = await ing.from_bytes(data)
        try:
            return await ing.decode_image(media, size, mode)
        finally:
            ing.release(media)
            assert ing.live_children == 0


@pytest.mark.parametrize("ext", FORMATS)
async def test_each_format_decodes_to_one_shaped_rgb_frame(
    images: Path, settings: MediaSettings, ext: str
) -> None:
    frame = await _decode(settings, (images / f"still.{ext}").read_bytes())
    assert frame.shape == (16, 16, 3) and frame.dtype == np.uint8
    # testsrc's colour bars: the picture is neither flat nor black.
    assert frame.std() > 20


async def test_image_is_shaped_exactly_like_a_video_frame_of_it(
    images: Path, settings: MediaSettings
) -> None:
    for mode in ("crop", "squash"):
        still = await _decode(settings, (images / "still.png").read_bytes(), mode=mode)
        async with MediaIngestor(settings) as ing:
            media = await ing.from_bytes((images / "still.mkv").read_bytes())
            spec = SamplingSpec(num_frames=4, image_size=16, resize_mode=mode)  # type: ignore[arg-type]
            clip = await ing.decode_clip(media, spec)
        # A lossless RGB video of the png: the video path and the image path give the same pixels.
        for frame in clip:
            np.testing.assert_array_equal(frame, still)


async def test_png_jpeg_and_webp_of_one_picture_agree(images: Path, settings: MediaSettings) -> None:
    png = await _decode(settings, (images / "still.png").read_bytes())
    for ext in ("jpg", "webp"):
        lossy = await _decode(settings, (images / f"still.{ext}").read_bytes())
        assert np.abs(lossy.astype(np.int16) - png.astype(np.int16)).mean() < 12, ext


async def test_truncated_image_is_decode_failed(images: Path, settings: MediaSettings) -> None:
    data = (images / "large.jpg").read_bytes()
    with pytest.raises(DecodeFailedError, match="damaged or truncated"):
        await _decode(settings, data[: len(data) // 2])


async def test_bytes_that_are_no_image_are_unsupported(images: Path, settings: MediaSettings) -> None:
    with pytest.raises(UnsupportedMediaError, match="not a png, jpeg or webp"):
        await _decode(settings, b"\x00junk" * 100)
    with pytest.raises(UnsupportedMediaError, match="a video goes in"):
        await _decode(settings, (images / "clip.mp4").read_bytes())


async def test_animated_webp_is_refused_by_name(images: Path, settings: MediaSettings) -> None:
    with pytest.raises(UnsupportedMediaError, match="animated webp is not supported"):
        await _decode(settings, (images / "animated.webp").read_bytes())


async def test_too_many_pixels_is_refused_before_decoding(images: Path, tmp_path: Path) -> None:
    small = MediaSettings(temp_dir=tmp_path, max_pixels=64 * 48 - 1)
    with pytest.raises(ResolutionTooLargeError, match="VIDEOPRISM_MEDIA_MAX_PIXELS"):
        await _decode(small, (images / "still.png").read_bytes())
    exact = MediaSettings(temp_dir=tmp_path, max_pixels=64 * 48)
    assert (await _decode(exact, (images / "still.png").read_bytes())).shape == (16, 16, 3)


async def test_an_image_sent_as_a_video_names_the_image_item(images: Path, settings: MediaSettings) -> None:
    async with MediaIngestor(settings) as ing:
        adapter = MediaIngestorAdapter(ing)
        media = await adapter.from_bytes((images / "still.webp").read_bytes())
        with pytest.raises(UnsupportedMediaError, match=r"webp image, not a video.*`image` item"):
            await adapter.plan(media, ClipRequest(4, 16, "crop", None, None, None), capped=True)
        await adapter.release(media)


def test_sniff_tells_the_three_formats_from_lookalikes(images: Path) -> None:
    kinds = {ext: sniff_image((images / f"still.{ext}").read_bytes()) for ext in FORMATS}
    assert kinds == {"png": "png", "jpg": "jpeg", "webp": "webp"}
    assert sniff_image(b"RIFF\x00\x00\x00\x00AVI LIST") is None
    assert sniff_image((images / "clip.mp4").read_bytes()) is None
    assert sniff_image(b"") is None
    assert animated_webp((images / "animated.webp").read_bytes())
    assert not animated_webp((images / "still.webp").read_bytes()) and not animated_webp(
        b"RIFF\0\0\0\0WEBPVP8X"
    )
