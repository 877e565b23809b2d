"""Faults under load: Redis killed and restarted, a slow origin, a hanging decoder, SIGTERM. The figure of
each is the number of requests lost (goal 0): admitted requests that did not get a successful answer."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import threading
import time
from pathlib import Path

import aiohttp
import psutil
import pytest

from bench.loadgen.runner import RunResult
from tests.core.redis_server import RedisServer
from tests.reliability.harness import pin_client, record, run, scaled, start_server, text_capacity, text_open
from tests.reliability.media import hanging_ffmpeg, make_clip, origin

pytestmark = pytest.mark.slow


def _lost(result: RunResult, before_s: float | None = None) -> int:
    return sum(
        1 for s in result.samples
        if not s.outcome.startswith("2") and (before_s is None or s.due_s < before_s)
    )  # fmt: skip


def test_redis_killed_and_restarted_under_load(tmp_path: Path) -> None:
    pin_client()
    redis = RedisServer(tmp_path)
    redis.start()
    served = start_server(tmp_path, {"VIDEOPRISM_CACHE": "redis", "VIDEOPRISM_REDIS_URL": redis.url})
    duration = scaled(20)
    try:
        rate = 0.5 * run(lambda: text_capacity(served.url, seconds=3))

        def chaos() -> None:
            time.sleep(duration * 0.25)
            redis.kill()
            time.sleep(duration * 0.25)
            redis.start()

        killer = threading.Thread(target=chaos)
        killer.start()
        result = run(lambda: text_open(served.url, rate, duration))
        killer.join()
    finally:
        served.process.stop()
        redis.kill()
    lost = _lost(result)
    record("fault_redis", {"offered_rps": rate, "run": result.to_json(), "series": result.series(),
                           "lost": lost, "kill_at_s": duration * 0.25, "restart_at_s": duration * 0.5})  # fmt: skip
    print(
        f"redis kill/restart at {rate:.0f}/s: {result.outcomes()}, lost {lost}, p99 {result.summary().p99_ms:.0f} ms"
    )
    assert lost == 0


async def _video_url_requests(url: str, video_url: str, count: int, every_s: float) -> dict[str, int]:
    """Video requests by URL at a fixed pace; outcome per item (a 200 may carry a per-item error)."""
    outcomes: dict[str, int] = {}

    async def one(session: aiohttp.ClientSession) -> None:
        body = {"videos": [{"url": video_url}]}
        async with session.post(url + "/v1/embed/video", json=body) as response:
            data = await response.json(content_type=None)
        key = str(response.status)
        if response.status == 200 and "error" in data["data"][0]:
            key = f"item:{data['data'][0]['error']['code']}"
        outcomes[key] = outcomes.get(key, 0) + 1

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        tasks = []
        for _ in range(count):
            tasks.append(asyncio.create_task(one(session)))
            await asyncio.sleep(every_s)
        await asyncio.gather(*tasks)
    return outcomes


def test_slow_origin_does_not_stall_text(tmp_path: Path) -> None:
    pin_client()
    clip = make_clip(tmp_path / "clip.mp4").read_bytes()
    with origin(clip, delay_s=4.0) as port:
        served = start_server(tmp_path, {"VIDEOPRISM_ALLOW_NETWORKS": "127.0.0.1/32",
                                         "VIDEOPRISM_ALLOWED_PORTS": f"80,443,{port}"})  # fmt: skip
        duration = scaled(15)
        try:
            rate = 0.5 * run(lambda: text_capacity(served.url, seconds=3))
            quiet = run(lambda: text_open(served.url, rate, 5))

            async def both() -> tuple[RunResult, dict[str, int]]:
                video = _video_url_requests(
                    served.url, f"http://127.0.0.1:{port}/clip.mp4", int(duration * 2), 0.5
                )
                return await asyncio.gather(text_open(served.url, rate, duration, offset=10**6), video)

            text, videos = run(both)
        finally:
            served.process.stop()
    lost = _lost(text) + sum(v for k, v in videos.items() if k != "200")
    record("fault_slow_origin", {"offered_text_rps": rate, "quiet": quiet.to_json(), "text": text.to_json(),
                                 "videos": videos, "origin_delay_s": 4.0, "lost": lost})  # fmt: skip
    print(f"slow origin: text p99 {quiet.summary().p99_ms:.0f} -> {text.summary().p99_ms:.0f} ms, "
          f"text {text.outcomes()}, videos {videos}, lost {lost}")  # fmt: skip
    assert lost == 0


def test_hanging_decoder_fails_the_request_not_the_server(tmp_path: Path) -> None:
    pin_client()
    clip = make_clip(tmp_path / "clip.mp4").read_bytes()
    fake = hanging_ffmpeg(tmp_path / "fake-ffmpeg")
    served = start_server(tmp_path, {"VIDEOPRISM_REQUEST_TIMEOUT_S": "5"}, path_prefix=fake)
    body = json.dumps({"videos": [{"data": base64.b64encode(clip).decode()}]})
    try:

        async def hung_videos_and_text() -> tuple[list[tuple[str, float]], RunResult]:
            async def video() -> tuple[str, float]:
                start = time.perf_counter()
                async with (
                    aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session,
                    session.post(
                        served.url + "/v1/embed/video",
                        data=body,
                        headers={"content-type": "application/json"},
                    ) as response,  # fmt: skip
                ):
                    data = await response.json(content_type=None)
                code = str(response.status)
                if response.status == 200 and "error" in data["data"][0]:
                    code = f"item:{data['data'][0]['error']['code']}"
                return code, time.perf_counter() - start

            videos = asyncio.gather(*(video() for _ in range(4)))
            text = text_open(served.url, 20, scaled(10))
            return await asyncio.gather(videos, text)

        videos, text = run(hung_videos_and_text)
        # The stand-ins must be killed by the media layer's own time limits, not linger as orphans.
        deadline = time.monotonic() + 40
        lingering = [p for p in psutil.process_iter(["cmdline"]) if "100000" in (p.info["cmdline"] or [])]
        while lingering and time.monotonic() < deadline:
            time.sleep(1)
            lingering = [p for p in lingering if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    finally:
        served.process.stop()
    record("fault_decoder_hang", {"videos": videos, "text": text.to_json(), "lingering_ffmpeg": len(lingering),
                                  "request_timeout_s": 5})  # fmt: skip
    print(f"hanging decoder: videos {videos}, text {text.outcomes()} p99 {text.summary().p99_ms:.0f} ms, "
          f"lingering stand-ins {len(lingering)}")  # fmt: skip
    assert all(not code.startswith("2") or code.startswith("item:") for code, _ in videos)
    assert all(seconds < 30 for _, seconds in videos), "a hung decoder held the request past its deadline"
    assert _lost(text) == 0
    assert not lingering


def test_sigterm_under_load_loses_nothing_admitted(tmp_path: Path) -> None:
    pin_client()
    served = start_server(tmp_path)
    duration = scaled(10)
    try:
        rate = 0.5 * run(lambda: text_capacity(served.url, seconds=3))
        sigterm_after = duration * 0.3

        async def load_then_sigterm() -> RunResult:
            loop = asyncio.get_running_loop()
            loop.call_later(sigterm_after, served.process.signal, signal.SIGTERM)
            return await text_open(served.url, rate, duration)

        result = run(load_then_sigterm)
        assert served.process.process is not None
        exit_code = served.process.process.wait(60)
    finally:
        served.process.stop()
    # Requests due before SIGTERM were admitted and must succeed; later ones may be refused (503, or the
    # connection refused once the listener closed), which is the contract, not a loss.
    lost = _lost(result, before_s=sigterm_after - 0.05)
    record("fault_sigterm", {"offered_rps": rate, "run": result.to_json(), "sigterm_at_s": sigterm_after,
                             "lost": lost, "exit_code": exit_code})  # fmt: skip
    print(
        f"SIGTERM at {sigterm_after:.1f}s of {rate:.0f}/s: {result.outcomes()}, lost {lost}, exit {exit_code}"
    )
    assert lost == 0
    assert exit_code == 0
