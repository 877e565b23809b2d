"""Leaks: after 1 000 mixed failing requests, the server's open descriptors, child processes and temp
bytes return to their baseline."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from pathlib import Path

import aiohttp
import psutil
import pytest

from tests.reliability.harness import pin_client, record, run, start_server
from tests.reliability.media import make_clip, origin

pytestmark = pytest.mark.slow

REQUESTS = 1000


def _temp_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _snapshot(ps: psutil.Process, spool: Path) -> dict[str, int]:
    return {
        "fds": ps.num_fds(),
        "children": len(ps.children(recursive=True)),
        "temp_bytes": _temp_bytes(spool),
    }


def test_failing_requests_leave_no_descriptors_children_or_temp_bytes(tmp_path: Path) -> None:
    pin_client()
    spool = tmp_path / "spool"
    spool.mkdir()
    clip = make_clip(tmp_path / "clip.mp4").read_bytes()
    with origin(clip) as port:
        served = start_server(tmp_path, {"VIDEOPRISM_TEMP_DIR": str(spool),
                                         "VIDEOPRISM_ALLOW_NETWORKS": "127.0.0.1/32",
                                         "VIDEOPRISM_ALLOWED_PORTS": f"80,443,{port}"})  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        garbage = base64.b64encode(os.urandom(20_000)).decode()
        truncated = base64.b64encode(clip[: len(clip) // 2]).decode()
        # Each kind fails at a different layer: validation, URL policy, fetch, probe, decode, upload spool.
        kinds: list[tuple[str, dict[str, object]]] = [
            ("bad_base64", {"json": {"videos": [{"data": "!!not base64!!"}]}}),
            ("garbage_bytes", {"json": {"videos": [{"data": garbage}]}}),
            ("truncated_video", {"json": {"videos": [{"data": truncated}]}}),
            ("origin_404", {"json": {"videos": [{"url": f"{base}/missing.mp4"}]}}),
            ("forbidden_host", {"json": {"videos": [{"url": "http://10.1.2.3/x.mp4"}]}}),
            ("bad_scheme", {"json": {"videos": [{"url": "file:///etc/passwd"}]}}),
            ("too_many_texts", {"json": {"texts": ["x"] * 300}, "path": "/v1/embed/text"}),
            ("malformed_json", {"data": b"{not json", "headers": {"content-type": "application/json"}}),
            ("garbage_upload", {"upload": os.urandom(30_000)}),
        ]
        outcomes: dict[str, dict[str, int]] = {name: {} for name, _ in kinds}
        try:
            ps = served.ps
            run(lambda: _warm(served.url, clip))
            time.sleep(1)
            before = _snapshot(ps, spool)

            async def storm() -> None:
                sem = asyncio.Semaphore(16)
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:

                    async def one(i: int) -> None:
                        name, spec = kinds[i % len(kinds)]
                        url = served.url + str(spec.get("path", "/v1/embed/video"))
                        async with sem:
                            if "upload" in spec:
                                form = aiohttp.FormData()
                                form.add_field("files", spec["upload"], filename="x.mp4")
                                request = session.post(url + "/upload", data=form)
                            elif "json" in spec:
                                request = session.post(url, json=spec["json"])
                            else:
                                request = session.post(url, data=spec["data"], headers=spec["headers"])  # type: ignore[arg-type]
                            async with request as response:
                                text = await response.read()
                        key = str(response.status)
                        if response.status == 200:
                            item = json.loads(text)["data"][0]
                            key = f"item:{item['error']['code']}" if "error" in item else "ok"
                        outcomes[name][key] = outcomes[name].get(key, 0) + 1

                    await asyncio.gather(*(one(i) for i in range(REQUESTS)))

            run(storm)
            settle_deadline = time.monotonic() + 30
            after = _snapshot(ps, spool)
            while time.monotonic() < settle_deadline and (
                after["fds"] > before["fds"] + 2 or after["children"] > before["children"] or after["temp_bytes"] > before["temp_bytes"]
            ):  # fmt: skip
                time.sleep(1)
                after = _snapshot(ps, spool)
        finally:
            served.process.stop()
    record("leaks", {"requests": REQUESTS, "before": before, "after": after, "outcomes": outcomes})
    print(f"leaks after {REQUESTS} failing requests: before {before}, after {after}; outcomes {outcomes}")
    assert not any("ok" in o for o in outcomes.values()), "a request meant to fail succeeded"
    assert after["fds"] <= before["fds"] + 2
    assert after["children"] <= before["children"]
    assert after["temp_bytes"] <= before["temp_bytes"]


async def _warm(url: str, clip: bytes) -> None:
    """One good request of each kind first, so lazily opened descriptors count in the baseline."""
    async with aiohttp.ClientSession() as session:
        for body, path in (({"texts": ["warm"]}, "/v1/embed/text"),
                           ({"videos": [{"data": base64.b64encode(clip).decode()}]}, "/v1/embed/video")):  # fmt: skip
            async with session.post(url + path, json=body) as response:
                assert response.status == 200, await response.text()
