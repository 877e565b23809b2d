"""Pre-decoded frames (HTTP `frames` item, gRPC `VideoSource.frames`): the clip decoded by the service's own
media layer and sent as frames embeds to the same vector as the encoded file; a shape, dtype or length
that does not match the bundle fails the request with `invalid_request` / INVALID_ARGUMENT."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import numpy.typing as npt
import pytest

from service.core.media_adapter import MediaIngestorAdapter
from service.core.media_port import ClipRequest
from service.grpc_api.errors import error_info
from service.media import MediaIngestor
from tests.api.server_thread import ServerThread
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc


async def _decode(server: ServerThread, data: bytes) -> npt.NDArray[np.uint8]:
    """The clip exactly as the service samples it, through the service's own media layer."""
    info = server.process.context.core.model_info()
    media = MediaIngestorAdapter(MediaIngestor(server.process.settings.media_settings()))
    fetched = await media.from_bytes(data)
    try:
        request = ClipRequest(info.num_frames, info.image_size, info.resize_mode, None, None, None)
        plan = await media.plan(fetched, request, capped=True)
        (segment,) = [s async for s in media.segments(fetched, plan, deadline_s=None)]
        return np.ascontiguousarray(segment.frames, dtype=np.uint8)
    finally:
        await media.release(fetched)
        await media.ingestor.aclose()


def _http_frames(frames: npt.NDArray[np.uint8], **override: Any) -> dict[str, Any]:
    body = {
        "data": base64.b64encode(frames.tobytes()).decode(),
        "shape": list(frames.shape),
        "dtype": "uint8",
    }
    return {"videos": [{"frames": {**body, **override}}]}


async def test_frames_embed_like_the_decoded_file(server: ServerThread, video_file: Path) -> None:
    data = video_file.read_bytes()
    frames = await _decode(server, data)
    with server.client() as client:
        from_file = client.post(
            "/v1/embed/video", json={"videos": [{"data": base64.b64encode(data).decode()}]}
        ).json()["data"][0]
        from_frames = client.post("/v1/embed/video", json=_http_frames(frames)).json()["data"][0]
    raw = pb.RawFrames(data=frames.tobytes(), shape=list(frames.shape), dtype="uint8")
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        by_grpc = await stub.EmbedVideo(pb.EmbedVideoRequest(videos=[pb.VideoSource(frames=raw)]))
    assert "error" not in from_file and "error" not in from_frames, (from_file, from_frames)
    reference = np.array(from_file["embedding"], dtype=np.float32)
    np.testing.assert_allclose(np.array(from_frames["embedding"], dtype=np.float32), reference, atol=1e-5)
    np.testing.assert_allclose(np.array(by_grpc.data[0].embedding, dtype=np.float32), reference, atol=1e-5)


async def test_frames_that_do_not_match_the_bundle_are_refused(server: ServerThread) -> None:
    info = server.process.context.core.model_info()
    shape = (info.num_frames, info.image_size, info.image_size, 3)
    good = np.zeros(shape, dtype=np.uint8)
    wrong_shape = np.zeros((info.num_frames + 1, *shape[1:]), dtype=np.uint8)
    with server.client() as client:
        answers = {
            "shape": client.post("/v1/embed/video", json=_http_frames(wrong_shape)),
            "dtype": client.post("/v1/embed/video", json=_http_frames(good, dtype="float32")),
            "channels": client.post("/v1/embed/video", json=_http_frames(good, shape=[*shape[:3], 4])),
            "bytes": client.post(
                "/v1/embed/video", json=_http_frames(good, data=base64.b64encode(b"\0" * 7).decode())
            ),
        }
    for case, response in answers.items():
        assert response.status_code == 400, (case, response.text)
        assert response.json()["error"]["code"] == "invalid_request", case
    assert str(list(shape)) in answers["shape"].json()["error"]["message"]
    raw = pb.RawFrames(data=wrong_shape.tobytes(), shape=list(wrong_shape.shape), dtype="uint8")
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.EmbedVideo(pb.EmbedVideoRequest(videos=[pb.VideoSource(frames=raw)]))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    detail = error_info(refused.value.trailing_metadata())
    assert detail is not None and detail.reason == "invalid_request"
    assert "shape" in (refused.value.details() or "")
