"""One video, five ways in (URL, multipart upload, EmbedVideo, StreamEmbed, UploadVideo): one vector, and
every request after the first is a cache hit (the cache is keyed by content, whichever door it came from)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import numpy as np

from tests.api.server_thread import ServerThread
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc


async def test_five_doors_one_vector(server: ServerThread, video_file: Path, origin: tuple[str, int]) -> None:
    data = video_file.read_bytes()
    url = f"{origin[0]}/{video_file.name}"
    with server.client() as client:
        by_url = client.post("/v1/embed/video", json={"videos": [{"url": url}]}).json()["data"][0]
        by_url_again = client.post("/v1/embed/video", json={"videos": [{"url": url}]}).json()["data"][0]
        uploaded = client.post(
            "/v1/embed/video/upload", files=[("files", ("clip.mp4", data, "video/mp4"))]
        ).json()["data"][0]

    async def one_item() -> AsyncIterator[pb.StreamEmbedRequest]:
        yield pb.StreamEmbedRequest(id="v", video=pb.VideoSource(data=data))

    async def upload() -> AsyncIterator[pb.UploadVideoRequest]:
        yield pb.UploadVideoRequest(header=pb.UploadVideoHeader(filename="clip.mp4"))
        yield pb.UploadVideoRequest(chunk=data[:1000])
        yield pb.UploadVideoRequest(chunk=data[1000:])

    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        unary = (await stub.EmbedVideo(pb.EmbedVideoRequest(videos=[pb.VideoSource(data=data)]))).data[0]
        (streamed,) = [r async for r in stub.StreamEmbed(one_item())]
        chunked = (await stub.UploadVideo(upload())).result

    assert "error" not in by_url, by_url
    assert by_url["cached"] is False
    reference = np.array(by_url["embedding"], dtype=np.float32)
    others = {
        "url again": (by_url_again["embedding"], by_url_again["cached"]),
        "upload": (uploaded["embedding"], uploaded["cached"]),
        "EmbedVideo": (list(unary.embedding), unary.cached),
        "StreamEmbed": (list(streamed.embedding), streamed.cached),
        "UploadVideo": (list(chunked.embedding), chunked.cached),
    }
    for door, (vector, cached) in others.items():
        np.testing.assert_allclose(np.array(vector, dtype=np.float32), reference, atol=1e-5, err_msg=door)
        assert cached is True, door
