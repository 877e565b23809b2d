"""Two real servers sharing one real Redis: a bundle that differs only in a preprocessing field of its
manifest (`video.value_range`) must never read the other's vectors (issue 25, point 2)."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from service.settings import Settings
from tests.api.server_thread import ServerThread
from tests.core.redis_server import RedisServer


def _with_value_range(source: Path, target: Path, value_range: list[float]) -> Path:
    shutil.copytree(source, target)
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["video"].get("value_range", [0.0, 1.0]) != value_range
    manifest["video"]["value_range"] = value_range
    manifest_path.write_text(json.dumps(manifest))
    return target


def _embed(server: ServerThread, video: bytes) -> tuple[np.ndarray, bool]:
    body = {"videos": [{"data": base64.b64encode(video).decode()}]}
    with server.client() as client:
        response = client.post("/v1/embed/video", json=body)
    assert response.status_code == 200, response.text
    item = response.json()["data"][0]
    return np.asarray(item["embedding"], dtype=np.float32), bool(item["cached"])


def test_value_range_change_misses_shared_redis(
    make_settings: Callable[..., Settings],
    api_bundle_dir: Path,
    video_file: Path,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    video = video_file.read_bytes()
    changed = _with_value_range(api_bundle_dir, tmp_path / "changed", [-1.0, 1.0])
    first = ServerThread(make_settings(redis_url=redis_server.url, cache="redis")).start()
    try:
        original, cached = _embed(first, video)
        assert not cached
        assert _embed(first, video)[1], "the same bundle must hit the shared cache"
    finally:
        assert first.stop() == 0
    second = ServerThread(make_settings(redis_url=redis_server.url, cache="redis", bundle=changed)).start()
    try:
        recomputed, cached = _embed(second, video)
        assert not cached, "a bundle with another value_range read the first bundle's vector"
        assert float(np.abs(recomputed - original).max()) > 1e-3
        assert _embed(second, video)[1]
    finally:
        assert second.stop() == 0
