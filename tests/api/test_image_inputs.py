"""Image items (`{"image": {"url" | "data"}}`, gRPC `VideoSource.image`): png, jpeg and webp made by ffmpeg
from lavfi `testsrc`, served by a real server over loopback and embedded by onnxruntime as a static clip;
broken, mismatched and oversized images fail their item with a stable code and the server keeps serving."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import numpy.typing as npt
import pytest

from service.media import MediaIngestor
from service.settings import Settings
from tests.api.server_thread import ServerThread
from tests.media.videos import ffmpeg
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

FORMATS = ("png", "jpg", "webp")


@pytest.fixture(scope="module")
def images(video_file: Path) -> Path:
    """Stills next to the origin's video (so the loopback origin serves them too) and a lossless RGB
    video of the png still repeated."""
    folder = video_file.parent
    for ext in FORMATS:
        ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1", str(folder / f"still.{ext}"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=640x480", "-frames:v", "1", str(folder / "large.jpg"))
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=1000x1000", "-frames:v", "1", str(folder / "wide.png"))
    ffmpeg("-loop", "1", "-i", str(folder / "still.png"), "-t", "1", "-r", "10",
           "-c:v", "libx264rgb", "-crf", "0", "-pix_fmt", "rgb24", str(folder / "still.mkv"))  # fmt: skip
    return folder


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _post(server: ServerThread, videos: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
    with server.client() as client:
        response = client.post("/v1/embed/video", json={"videos": videos, **extra})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _vector(item: dict[str, Any]) -> npt.NDArray[np.float32]:
    assert "error" not in item, item
    return np.array(item["embedding"], dtype=np.float32)


async def _grpc(server: ServerThread, *sources: pb.VideoSource) -> pb.EmbedVideoResponse:
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        return await stub.EmbedVideo(pb.EmbedVideoRequest(videos=list(sources)))


@pytest.mark.parametrize("ext", FORMATS)
async def test_each_format_by_data_and_url_over_both_doors(
    server: ServerThread, origin: tuple[str, int], images: Path, ext: str
) -> None:
    dim = server.process.context.core.model_info().embedding_dim
    path = images / f"still.{ext}"
    url = f"{origin[0]}/{path.name}"
    by_data, by_url = _post(server, [{"image": {"data": _b64(path)}}, {"image": {"url": url}}])
    answer = await _grpc(
        server,
        pb.VideoSource(image=pb.ImageSource(data=path.read_bytes())),
        pb.VideoSource(image=pb.ImageSource(url=url)),
    )
    vectors = [_vector(by_data), _vector(by_url)]
    for item in answer.data:
        assert not item.HasField("error"), item.error
        vectors.append(np.array(item.embedding, dtype=np.float32))
    for vector in vectors:
        assert vector.shape == (dim,)
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4
        np.testing.assert_allclose(vector, vectors[0], atol=1e-5)


async def test_an_image_embeds_as_the_video_of_its_frame_repeated(server: ServerThread, images: Path) -> None:
    image, video = _post(
        server, [{"image": {"data": _b64(images / "still.png")}}, {"data": _b64(images / "still.mkv")}]
    )
    from_image, from_video = _vector(image), _vector(video)
    assert float(from_image @ from_video) > 0.999
    # The lossless video's frames are the png's pixels, so the pipeline gives the same vector.
    np.testing.assert_allclose(from_image, from_video, atol=1e-6)

    info = server.process.context.core.model_info()
    async with MediaIngestor(server.process.settings.media_settings()) as ingestor:
        media = await ingestor.from_bytes((images / "still.png").read_bytes())
        frame = await ingestor.decode_image(media, info.image_size, info.resize_mode)
    clip = np.repeat(frame[np.newaxis], info.num_frames, axis=0)
    raw = {"data": base64.b64encode(clip.tobytes()).decode(), "shape": list(clip.shape), "dtype": "uint8"}
    (from_frames,) = _post(server, [{"frames": raw}])
    np.testing.assert_allclose(_vector(from_frames), from_image, atol=1e-6)


async def test_repeats_come_from_the_cache_and_segments_hold_the_one_still(
    server: ServerThread, origin: tuple[str, int], images: Path
) -> None:
    url = f"{origin[0]}/still.webp"
    first, second = (_post(server, [{"image": {"url": url}}])[0] for _ in range(2))
    assert second["cached"] is True
    np.testing.assert_allclose(_vector(second), _vector(first), atol=1e-6)
    (segmented,) = _post(
        server, [{"image": {"url": url}}], segments={"interval_seconds": 1}, clip={"start": 0, "end": 5}
    )
    assert segmented["segments_total"] == 1 and len(segmented["segments"]) == 1
    assert segmented["segments"][0]["start"] == 0 and segmented["segments"][0]["end"] == 0
    np.testing.assert_allclose(_vector(segmented), _vector(first), atol=1e-6)


async def test_multipart_upload_tells_images_from_videos(
    server: ServerThread, images: Path, video_file: Path
) -> None:
    files = [
        ("files", ("still.png", (images / "still.png").read_bytes(), "application/octet-stream")),
        ("files", ("clip.mp4", video_file.read_bytes(), "video/mp4")),
    ]
    with server.client() as client:
        response = client.post("/v1/embed/video/upload", files=files)
    assert response.status_code == 200, response.text
    image, video = response.json()["data"]
    (as_item,) = _post(server, [{"image": {"data": _b64(images / "still.png")}}])
    np.testing.assert_allclose(_vector(image), _vector(as_item), atol=1e-6)
    assert _vector(video).shape == _vector(image).shape


async def test_broken_and_mismatched_inputs_fail_clearly_and_the_server_keeps_serving(
    server: ServerThread, images: Path, video_file: Path
) -> None:
    large = (images / "large.jpg").read_bytes()
    truncated = base64.b64encode(large[: len(large) // 2]).decode()
    answers = _post(
        server,
        [
            {"image": {"data": truncated}},
            {"image": {"data": base64.b64encode(b"\x00not an image" * 50).decode()}},
            {"image": {"data": _b64(video_file)}},
            {"data": _b64(images / "still.jpg")},
        ],
    )
    errors = [(a["error"]["code"], a["error"]["message"]) for a in answers]
    assert errors[0] == ("decode_failed", "the image is damaged or truncated and could not be decoded")
    assert errors[1][0] == "unsupported_media" and "not a png, jpeg or webp" in errors[1][1]
    assert (
        errors[2][0] == "unsupported_media" and "a video goes in the item's `url` or `data`" in errors[2][1]
    )
    assert errors[3] == ("unsupported_media", "this is a jpeg image, not a video: send it as an `image` item")

    answer = await _grpc(server, pb.VideoSource(image=pb.ImageSource(data=large[:1000])))
    assert answer.data[0].error.code == "decode_failed"
    with server.client() as client:
        both = client.post(
            "/v1/embed/video", json={"videos": [{"image": {"url": "http://a/b.png", "data": "eA=="}}]}
        )
        bad_b64 = client.post("/v1/embed/video", json={"videos": [{"image": {"data": "***"}}]})
        job = client.post("/v1/jobs", json={"video": {"image": {"data": _b64(images / "still.png")}}})
    assert both.status_code == 400 and "exactly one of 'url' and 'data'" in both.text
    assert bad_b64.status_code == 400 and bad_b64.json()["error"]["message"] == (
        "videos[0].image.data is not valid base64"
    )
    assert job.status_code == 400 and "not pre-decoded frames or an image" in job.text
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await _grpc(server, pb.VideoSource(image=pb.ImageSource()))
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Still serving: the good image right after.
    (good,) = _post(server, [{"image": {"data": _b64(images / "still.png")}}])
    assert _vector(good).size > 0


@pytest.fixture(scope="module")
def small_limits_server(make_settings: Callable[..., Settings]) -> Iterator[ServerThread]:
    running = ServerThread(make_settings(media_max_image_bytes=8000, media_max_pixels=500_000)).start()
    yield running
    assert running.stop() == 0


async def test_oversized_images_are_refused(
    small_limits_server: ServerThread, origin: tuple[str, int], images: Path
) -> None:
    server = small_limits_server
    answers = _post(
        server,
        [
            {"image": {"data": _b64(images / "large.jpg")}},
            {"image": {"url": f"{origin[0]}/large.jpg"}},
            {"image": {"data": _b64(images / "wide.png")}},
            {"image": {"data": _b64(images / "still.png")}},
        ],
    )
    codes = [a.get("error", {}).get("code") for a in answers]
    assert codes == ["payload_too_large", "download_too_large", "resolution_too_large", None]
    assert "limit is 8000 (VIDEOPRISM_MEDIA_MAX_IMAGE_BYTES)" in answers[0]["error"]["message"]
    answer = await _grpc(
        server, pb.VideoSource(image=pb.ImageSource(data=(images / "wide.png").read_bytes()))
    )
    assert answer.data[0].error.code == "resolution_too_large"


async def test_an_image_streams_as_one_segment(server: ServerThread, images: Path) -> None:
    request = pb.EmbedVideoRequest(
        videos=[pb.VideoSource(image=pb.ImageSource(data=(images / "still.png").read_bytes()))]
    )
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        messages = [m async for m in stub.EmbedVideoSegments(request)]
    assert [m.WhichOneof("result") for m in messages] == ["segment", "video"]
    assert messages[0].segments_total == 1
    np.testing.assert_allclose(messages[0].segment.embedding, messages[1].video.embedding, atol=1e-6)


def test_openapi_documents_the_image_item(server: ServerThread) -> None:
    with server.client() as client:
        spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    image = schemas["ImageInput"]
    assert set(image["properties"]) == {"url", "data"} and "static clip" in image["description"]
    assert image["properties"]["url"]["examples"] == ["https://example.com/cat.jpg"]
    assert "image" in schemas["VideoInput"]["properties"]
    request_examples = schemas["EmbedVideoRequest"]["examples"]
    assert any("image" in video for example in request_examples for video in example["videos"])
