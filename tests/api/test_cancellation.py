"""Cancellation reaches the work: a gRPC cancel, a gRPC deadline and an HTTP client hanging up each leave
no ffmpeg child of the server process and no spooled file 1 s later (read from /proc and the disk)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from service.settings import Settings
from tests.api.long_video import SEGMENT_S, make_long_video
from tests.api.server_thread import ServerThread
from tests.media.procs import ffmpeg_children, settle
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
def spool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spool")


@pytest.fixture(scope="module")
def long_url(origin: tuple[str, int], video_file: Path) -> str:
    path = video_file.parent / "long.mp4"
    if not path.exists():
        make_long_video(path)
    return f"{origin[0]}/long.mp4"


@pytest.fixture(scope="module")
def cancel_server(make_settings: Callable[..., Settings], spool: Path) -> Iterator[ServerThread]:
    # No cache, so every test decodes; a cap high enough that one answer decodes for seconds.
    running = ServerThread(make_settings(temp_dir=spool, cache="none", max_segments_per_request=600)).start()
    yield running
    running.stop()


def _spooled(spool: Path) -> list[Path]:
    # The ingestor's own lifetime lock (`.owner` / `vp-media-*.lock`) is not a request's file.
    return [p for p in spool.rglob("*") if p.is_file() and p.name != ".owner" and p.suffix != ".lock"]


def _decoders(spool: Path) -> list[int]:
    """Live ffmpeg children of this process (the servers run in threads of it)."""
    del spool  # ffmpeg reads the spooled file by descriptor, so its command line does not name the spool
    return ffmpeg_children()


def _clean(spool: Path) -> Callable[[], bool]:
    return lambda: not _decoders(spool) and not _spooled(spool)


def _request(url: str) -> pb.EmbedVideoRequest:
    return pb.EmbedVideoRequest(
        videos=[pb.VideoSource(url=url)], options=pb.VideoOptions(segment_interval_seconds=SEGMENT_S)
    )


async def test_grpc_cancel_kills_the_decoder(cancel_server: ServerThread, long_url: str, spool: Path) -> None:
    async with grpc.aio.insecure_channel(cancel_server.grpc_target) as channel:
        call = pb_grpc.EmbeddingServiceStub(channel).EmbedVideoSegments(_request(long_url))
        for _ in range(3):
            message = await call.read()
            assert message.WhichOneof("result") == "segment"
        assert _decoders(spool) and _spooled(spool)  # the work is live: there is something to stop
        call.cancel()
        await settle(_clean(spool), within_s=1.0)


async def test_grpc_deadline_kills_the_decoder(
    cancel_server: ServerThread, long_url: str, spool: Path
) -> None:
    async with grpc.aio.insecure_channel(cancel_server.grpc_target) as channel:
        call = pb_grpc.EmbeddingServiceStub(channel).EmbedVideoSegments(_request(long_url), timeout=1.5)
        await call.read()
        assert _decoders(spool)
        # The client stops reading: the server's read-ahead fills and ffmpeg blocks until the deadline.
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            while True:
                await asyncio.sleep(2.0)
                await call.read()
        assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await settle(_clean(spool), within_s=1.0)


async def test_http_disconnect_kills_the_decoder(
    cancel_server: ServerThread, long_url: str, spool: Path
) -> None:
    body = {"videos": [{"url": long_url}], "segments": {"interval_seconds": SEGMENT_S}}
    async with httpx.AsyncClient(base_url=cancel_server.http_url) as client:
        request = asyncio.create_task(client.post("/v1/embed/video", json=body, timeout=30))
        await settle(lambda: bool(_decoders(spool)), within_s=5.0)
        request.cancel()  # closes the connection mid-request
        with pytest.raises(asyncio.CancelledError):
            await request
    await settle(_clean(spool), within_s=1.0)
    # The server keeps serving.
    async with httpx.AsyncClient(base_url=cancel_server.http_url) as client:
        assert (await client.get("/healthz")).status_code == 200
