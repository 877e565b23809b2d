"""A job survives `kill -9` of the replica running it: two real `videoprism-serve` processes share a real
redis-server; the replica holding the job's ffmpeg is killed mid-job, the other takes the job over after
the visibility timeout and resumes after the last stored segment. Every segment is there exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.api.long_video import make_long_video
from tests.cluster.processes import Replica, free_ports, requires_tools
from tests.core.redis_server import RedisServer

pytestmark = requires_tools

INTERVAL_S = 0.5  # 2 400 segments of the 20-minute video: long enough for the kill to land mid-job
SEGMENTS = 2400


def _ffmpeg_children(pid: int) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = stat.split("(", 1)[1].rsplit(")", 1)
        fields = rest.split()
        if fields[1] == str(pid) and fields[0] != "Z" and "ffmpeg" in name:
            count += 1
    return count


@pytest.fixture
def replicas(
    tmp_path: Path, api_bundle_dir: Path, origin: tuple[str, int]
) -> Iterator[tuple[Replica, Replica]]:
    redis = RedisServer(tmp_path)
    redis.start()
    env = {
        "VIDEOPRISM_BUNDLE": str(api_bundle_dir),
        "VIDEOPRISM_REDIS_URL": redis.url,
        "VIDEOPRISM_CACHE": "none",  # the second replica must decode, not read a cached record
        "VIDEOPRISM_DEVICE": "cpu",
        "VIDEOPRISM_INTRA_OP_THREADS": "1",
        "VIDEOPRISM_ALLOW_NETWORKS": "127.0.0.1/32",
        "VIDEOPRISM_ALLOWED_PORTS": f"80,443,{origin[1]}",
        "VIDEOPRISM_JOBS_CONCURRENCY": "1",
        "VIDEOPRISM_JOBS_VISIBILITY_TIMEOUT_S": "2",
        # The runner is found by its live ffmpeg: one decoder for the whole video (chunked decodes may have
        # finished decoding into their queues while the job still embeds).
        "VIDEOPRISM_MEDIA_CHUNKED_DECODE": "false",
        "VIDEOPRISM_LOG_LEVEL": "WARNING",
    }
    ports = free_ports(4)
    pair = (
        Replica("a", ports[0], ports[1], tmp_path / "a", env).start(),
        Replica("b", ports[2], ports[3], tmp_path / "b", env).start(),
    )
    try:
        for replica in pair:
            replica.wait_ready()
        yield pair
    finally:
        for replica in pair:
            replica.stop()
        redis.kill()


def test_job_resumes_on_the_other_replica_after_kill_9(
    replicas: tuple[Replica, Replica], origin: tuple[str, int], video_file: Path
) -> None:
    path = video_file.parent / "long.mp4"
    if not path.exists():
        make_long_video(path)
    body = {"video": {"url": f"{origin[0]}/long.mp4"}, "segments": {"interval_seconds": INTERVAL_S}}
    first, second = replicas
    job = httpx.post(f"{first.http_url}/v1/jobs", json=body, timeout=10).json()["id"]

    # Wait until the job is well under way, then kill -9 whichever replica runs its ffmpeg.
    deadline = time.monotonic() + 60
    while True:
        state = httpx.get(f"{second.http_url}/v1/jobs/{job}", timeout=10).json()
        if state["progress"]["segments_done"] >= 100:
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    runner, survivor = next(
        (r, o) for r, o in (replicas, replicas[::-1]) if r.process and _ffmpeg_children(r.process.pid)
    )
    assert runner.process is not None
    runner.process.kill()
    runner.process.wait(10)
    done_at_kill = httpx.get(f"{survivor.http_url}/v1/jobs/{job}", timeout=10).json()["progress"]
    assert 0 < done_at_kill["segments_done"] < SEGMENTS  # the kill landed mid-job

    deadline = time.monotonic() + 60
    while (state := httpx.get(f"{survivor.http_url}/v1/jobs/{job}", timeout=10).json())["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
    assert state["status"] == "succeeded", state
    assert state["progress"] == {"segments_done": SEGMENTS, "segments_total": SEGMENTS}

    segments, offset = [], 0
    while offset is not None:
        page = httpx.get(
            f"{survivor.http_url}/v1/jobs/{job}/segments",
            params={"offset": offset, "limit": 1000},
            timeout=10,
        ).json()
        segments.extend(page["data"])
        offset = page["next_offset"]
    assert [s["index"] for s in segments] == list(range(SEGMENTS))  # none missing, none twice
    starts = np.array([s["start_seconds"] for s in segments])
    np.testing.assert_allclose(starts, np.arange(SEGMENTS) * INTERVAL_S, atol=1e-6)
    norms = np.linalg.norm(np.array([s["embedding"] for s in segments]), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-4)
