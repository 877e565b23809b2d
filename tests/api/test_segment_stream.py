"""`EmbedVideoSegments` over a real grpc.aio channel: a 20-minute video at 2 s segments comes back as 600
ordered segment messages and one whole-video message, matches the capped answer of `EmbedVideo` (which
says it cut), and a repeated request is served from the cache."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest

from service.settings import Settings
from tests.api.long_video import SEGMENT_S, SEGMENTS, make_long_video
from tests.api.server_thread import ServerThread
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc


@pytest.fixture(scope="session")
def long_video(tmp_path_factory: pytest.TempPathFactory, origin: tuple[str, int], video_file: Path) -> str:
    """URL of the 20-minute video on the loopback origin (it serves `video_file`'s directory)."""
    make_long_video(video_file.parent / "long.mp4")
    return f"{origin[0]}/long.mp4"


@pytest.fixture(scope="module")
def stream_server(make_settings: Callable[..., Settings]) -> Iterator[ServerThread]:
    running = ServerThread(make_settings(video_max_batch_size=16)).start()
    yield running
    running.stop()


def _request(url: str) -> pb.EmbedVideoRequest:
    return pb.EmbedVideoRequest(
        videos=[pb.VideoSource(url=url)], options=pb.VideoOptions(segment_interval_seconds=SEGMENT_S)
    )


async def _collect(stub: pb_grpc.EmbeddingServiceStub, url: str) -> list[pb.EmbedVideoSegmentsResponse]:
    return [message async for message in stub.EmbedVideoSegments(_request(url), timeout=60)]


async def test_twenty_minutes_stream_in_order_then_cached(
    stream_server: ServerThread, long_video: str
) -> None:
    async with grpc.aio.insecure_channel(stream_server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        first = await _collect(stub, long_video)
        capped = await stub.EmbedVideo(_request(long_video), timeout=60)
        again = await _collect(stub, long_video)

    segments, last = first[:-1], first[-1]
    assert len(segments) == SEGMENTS and last.WhichOneof("result") == "video"
    assert [m.segment.index for m in segments] == list(range(SEGMENTS))
    assert all(m.segments_total == SEGMENTS for m in first)
    starts = np.array([m.segment.start_seconds for m in segments])
    np.testing.assert_allclose(starts, np.arange(SEGMENTS) * SEGMENT_S, atol=1e-6)
    assert segments[-1].segment.end_seconds == pytest.approx(SEGMENTS * SEGMENT_S, abs=0.2)
    vectors = np.array([m.segment.embedding for m in segments], dtype=np.float32)
    assert not any(m.segment.cached for m in segments) and not last.video.cached
    mean = vectors.mean(axis=0)
    np.testing.assert_allclose(last.video.embedding, mean / np.linalg.norm(mean), atol=1e-5)
    # testsrc at the tiny bundle's 16 px repeats, but a stream of one copied vector would pass the rest.
    assert len({v.tobytes() for v in vectors}) > 10

    # The answer path stops at the per-request cap (64 by default) and says so; its segments are the
    # stream's first ones (here read from the record the stream cached).
    answer = capped.data[0]
    assert answer.truncated and answer.segments_total == SEGMENTS and len(answer.segments) == 64
    np.testing.assert_allclose(np.array([s.embedding for s in answer.segments]), vectors[:64], atol=1e-6)

    assert len(again) == SEGMENTS + 1 and all(m.segment.cached for m in again[:-1]) and again[-1].video.cached
    np.testing.assert_allclose(np.array([m.segment.embedding for m in again[:-1]]), vectors, atol=1e-6)


async def test_a_job_pages_the_same_600_segments(stream_server: ServerThread, long_video: str) -> None:
    async with grpc.aio.insecure_channel(stream_server.grpc_target) as channel:
        streamed = await _collect(pb_grpc.EmbeddingServiceStub(channel), long_video)
    vectors = np.array([m.segment.embedding for m in streamed[:-1]], dtype=np.float32)
    body = {"video": {"url": long_video}, "segments": {"interval_seconds": SEGMENT_S}}
    async with httpx.AsyncClient(base_url=stream_server.http_url, timeout=30) as client:
        created = await client.post("/v1/jobs", json=body)
        assert created.status_code == 202 and created.json()["status"] == "queued"
        job = created.json()["id"]
        state = await _until_finished(client, job)
        pages, offset = [], 0
        while offset is not None:
            page = (
                await client.get(f"/v1/jobs/{job}/segments", params={"offset": offset, "limit": 250})
            ).json()
            pages.extend(page["data"])
            offset = page["next_offset"]
    assert state["status"] == "succeeded"
    assert state["progress"] == {"segments_done": SEGMENTS, "segments_total": SEGMENTS}
    assert [s["index"] for s in pages] == list(range(SEGMENTS))
    np.testing.assert_allclose(np.array([s["embedding"] for s in pages]), vectors, atol=1e-6)
    np.testing.assert_allclose(state["embedding"], streamed[-1].video.embedding, atol=1e-5)


async def _until_finished(client: httpx.AsyncClient, job: str, within_s: float = 60.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        state: dict[str, Any] = (await client.get(f"/v1/jobs/{job}")).json()
        if state["status"] in ("succeeded", "failed", "cancelled"):
            return state
        assert asyncio.get_running_loop().time() < deadline, state
        await asyncio.sleep(0.1)


async def test_short_video_is_not_truncated(stream_server: ServerThread, video_file: Path) -> None:
    async with grpc.aio.insecure_channel(stream_server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        answer = await stub.EmbedVideo(
            pb.EmbedVideoRequest(
                videos=[pb.VideoSource(data=video_file.read_bytes())],
                options=pb.VideoOptions(segment_interval_seconds=1.0),
            )
        )
        streamed = [m async for m in stub.EmbedVideoSegments(
            pb.EmbedVideoRequest(
                videos=[pb.VideoSource(data=video_file.read_bytes())],
                options=pb.VideoOptions(segment_interval_seconds=1.0),
            )
        )]  # fmt: skip
    result = answer.data[0]
    assert not result.truncated and result.segments_total == 3 and len(result.segments) == 3
    assert len(streamed) == 4 and streamed[-1].segments_total == 3
    np.testing.assert_allclose(streamed[-1].video.embedding, result.embedding, atol=1e-6)


async def test_stream_takes_exactly_one_video(stream_server: ServerThread) -> None:
    async with grpc.aio.insecure_channel(stream_server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            async for _ in stub.EmbedVideoSegments(pb.EmbedVideoRequest()):
                pass
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
