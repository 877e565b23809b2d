"""The SDK's long-video helpers against the real server: the gRPC segment stream and the HTTP job
helpers give the same vectors, the capped answer says it cut, and an early close of the stream ends it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.api.server_thread import ServerThread
from tests.core.shared_fixtures import write_clip
from videoprism_client import GrpcClient, HttpClient, StreamedSegment, StreamedVideo, VideoOptions


@pytest.fixture(scope="module")
def two_minutes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("sdk_long") / "two_minutes.mp4", "testsrc", seconds=120)


def test_stream_and_job_helpers_agree(service: ServerThread, two_minutes: Path) -> None:
    options = VideoOptions(segment_seconds=1.0)  # 120 segments, past the per-request cap of 64
    with GrpcClient(service.grpc_target) as grpc_client:
        items = list(grpc_client.embed_video_segments(two_minutes, options))
        capped = grpc_client.embed_videos([two_minutes], options).results[0]
    segments = [i for i in items if isinstance(i, StreamedSegment)]
    assert isinstance(items[-1], StreamedVideo) and len(segments) == 120 == items[-1].total
    assert [s.index for s in segments] == list(range(120))
    assert capped.truncated and capped.segments_total == 120 and len(capped.segments) == 64

    with HttpClient(service.http_url) as http_client:
        job = http_client.create_job(two_minutes, options)
        assert job.status == "queued"
        paged = list(http_client.iter_job_segments(job.id, page_size=50, poll_s=0.05))
        final = http_client.get_job(job.id)
        # A finished job can be cancelled without effect; it stays succeeded.
        assert http_client.cancel_job(job.id).status == "succeeded"
    assert final.status == "succeeded" and final.segments_done == final.segments_total == 120
    assert [s.index for s in paged] == list(range(120))
    np.testing.assert_allclose(
        np.stack([s.embedding for s in paged]), np.stack([s.embedding for s in segments]), atol=1e-6
    )
    assert final.embedding is not None
    np.testing.assert_allclose(final.embedding, items[-1].embedding, atol=1e-5)


def test_closing_the_stream_early_ends_the_call(service: ServerThread, two_minutes: Path) -> None:
    with GrpcClient(service.grpc_target) as client:
        stream = client.embed_video_segments(two_minutes, VideoOptions(segment_seconds=0.5))
        first = next(iter(stream))
        stream.close()
        assert isinstance(first, StreamedSegment) and first.index == 0 and first.total == 240
        # The channel is still usable afterwards.
        assert client.model_info().dim == 16
