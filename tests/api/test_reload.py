"""Load, unload and reload models without a restart: admin routes need the `admin` scope, a reload under
load (four clients looping over REST, the OpenAI route and gRPC) fails no request, and so does a SIGHUP
that makes a subprocess server re-read its models directory."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from service.model_catalog import read_manifest
from service.settings import Settings
from tests.api.reload_load import ClientLoad
from tests.api.serve_process import SERVE, wait_ready
from tests.api.server_thread import ServerThread
from tests.core.bundle_factory import TinyBundleSpec, build_tiny_bundle
from tests.core.redis_server import free_port

USER_KEY = "video-text-key-1"
ADMIN_KEY = "admin-key-2"
NAME = "videoprism-tiny-test"  # the single bundle's name: its manifest's model_name


@pytest.fixture(scope="module")
def other_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Same shapes as the api bundle, other weights: another bundle id and other vectors."""
    return build_tiny_bundle(tmp_path_factory.mktemp("other_bundle"), TinyBundleSpec(seed=1))


def _bundle_id(path: Path) -> str:
    manifest = read_manifest(path)
    assert manifest is not None
    return manifest.bundle_id


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def _line(key: str, scopes: str) -> str:
    return f"sha256:{hashlib.sha256(key.encode()).hexdigest()} scopes={scopes}\n"


def _served(client: httpx.Client, **kwargs: object) -> dict[str, str]:
    response = client.get("/v1/models", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return {card["id"]: card["bundle_id"] for card in response.json()["data"]}


def test_admin_routes_need_the_admin_scope(
    make_settings: Callable[..., Settings], tmp_path: Path, api_bundle_dir: Path
) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(_line(USER_KEY, "video,text") + _line(ADMIN_KEY, "admin"))
    server = ServerThread(make_settings(api_keys_file=keys)).start()
    try:
        with server.client() as client:
            calls = [
                ("POST", f"/v1/admin/models/{NAME}:reload", {}),
                ("POST", "/v1/admin/models", {"name": "x", "path": str(api_bundle_dir)}),
                ("DELETE", f"/v1/admin/models/{NAME}", None),
                ("POST", "/v1/admin/models:sync", None),
            ]
            for method, path, body in calls:
                denied = client.request(method, path, json=body, headers=_bearer(USER_KEY))
                assert denied.status_code == 403, denied.text
                assert denied.json()["error"]["code"] == "permission_denied"
                anonymous = client.request(method, path, json=body)
                assert anonymous.status_code == 401, anonymous.text
            allowed = client.post(f"/v1/admin/models/{NAME}:reload", json={}, headers=_bearer(ADMIN_KEY))
            assert allowed.status_code == 200, allowed.text
            assert allowed.json()["bundle_id"] == _bundle_id(api_bundle_dir)
            assert _served(client, headers=_bearer(USER_KEY)) == {NAME: _bundle_id(api_bundle_dir)}
    finally:
        assert server.stop() == 0


def test_load_and_unload_without_restart(
    make_settings: Callable[..., Settings], other_bundle: Path, tmp_path: Path
) -> None:
    server = ServerThread(make_settings(api_keys=(ADMIN_KEY,))).start()
    try:
        with server.client(headers=_bearer(ADMIN_KEY)) as client:
            loaded = client.post("/v1/admin/models", json={"name": "other", "path": str(other_bundle)})
            assert loaded.status_code == 201, loaded.text
            assert (loaded.json()["id"], loaded.json()["default"]) == ("other", False)
            text = client.post("/v1/embed/text", json={"texts": ["x"], "model": "other"})
            assert (text.status_code, text.json()["model"]) == (200, "other")

            again = client.post("/v1/admin/models", json={"name": "other", "path": str(other_bundle)})
            assert (again.status_code, again.json()["error"]["code"]) == (409, "model_exists")
            broken = tmp_path / "broken"
            shutil.copytree(other_bundle, broken)
            (broken / "video_encoder.onnx").write_bytes(b"not onnx")
            bad = client.post("/v1/admin/models/other:reload", json={"path": str(broken)})
            assert (bad.status_code, bad.json()["error"]["code"]) == (422, "bundle_invalid")
            missing = client.post("/v1/admin/models", json={"name": "gone", "path": str(tmp_path / "none")})
            assert (missing.status_code, missing.json()["error"]["code"]) == (422, "bundle_invalid")
            # The failed reload left the loaded engine serving.
            assert _served(client)["other"] == _bundle_id(other_bundle)
            assert client.post("/v1/embed/text", json={"texts": ["y"], "model": "other"}).status_code == 200

            default = client.delete(f"/v1/admin/models/{NAME}")
            assert (default.status_code, default.json()["error"]["code"]) == (400, "invalid_request")
            unknown = client.post("/v1/admin/models/nope:reload", json={})
            assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "model_not_found")
            unloaded = client.delete("/v1/admin/models/other")
            assert unloaded.status_code == 200 and unloaded.json() == {"unloaded": "other", "served": [NAME]}
            after = client.post("/v1/embed/text", json={"texts": ["x"], "model": "other"})
            assert (after.status_code, after.json()["error"]["code"]) == (404, "model_not_found")
    finally:
        assert server.stop() == 0


def test_reload_under_load_fails_no_request(
    make_settings: Callable[..., Settings], api_bundle_dir: Path, other_bundle: Path, video_file: Path
) -> None:
    # No cache: every request runs on an engine, so requests are in flight on the old one at each swap.
    server = ServerThread(make_settings(cache="none", api_keys=(ADMIN_KEY,))).start()
    try:
        with server.client(headers=_bearer(ADMIN_KEY)) as admin:
            video = video_file.read_bytes()
            with ClientLoad(server.http_url, server.grpc_target, video, NAME, api_key=ADMIN_KEY) as load:
                time.sleep(1.0)
                same = admin.post(f"/v1/admin/models/{NAME}:reload", json={})
                assert same.status_code == 200, same.text
                time.sleep(0.5)
                switched = admin.post(f"/v1/admin/models/{NAME}:reload", json={"path": str(other_bundle)})
                assert switched.status_code == 200, switched.text
                time.sleep(1.5)
            assert _served(admin) == {NAME: _bundle_id(other_bundle)}
        record = load.record
        print(f"admin reloads under load: {record.requests} requests, {len(record.failures)} failed")
        assert record.failures == []
        assert record.requests >= 20, record.requests
        # The probe text was answered by both bundles' engines: the load spanned the swaps.
        assert len(record.probe_vectors) == 2
    finally:
        assert server.stop() == 0


def test_sighup_rereads_the_models_directory_under_load(
    api_bundle_dir: Path, other_bundle: Path, video_file: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    shutil.copytree(api_bundle_dir, models / "main")
    http_port, grpc_port = free_port(), free_port()
    env = {
        **os.environ,
        "VIDEOPRISM_BUNDLES": str(models),
        "VIDEOPRISM_HTTP_PORT": str(http_port),
        "VIDEOPRISM_GRPC_PORT": str(grpc_port),
        "VIDEOPRISM_DEVICE": "cpu",
        "VIDEOPRISM_INTRA_OP_THREADS": "1",
        "VIDEOPRISM_DRAIN_TIMEOUT_S": "10",
        "VIDEOPRISM_DECODE_TIMEOUT_S": "5",
        "VIDEOPRISM_CACHE": "none",
    }
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen([str(SERVE)], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{http_port}"
    try:
        wait_ready(base, proc)
        with httpx.Client(base_url=base, timeout=30) as client:
            assert _served(client) == {"main": _bundle_id(api_bundle_dir)}
            with ClientLoad(base, f"127.0.0.1:{grpc_port}", video_file.read_bytes(), "main") as load:
                time.sleep(1.0)
                # Replace the bundle the way a deploy would: write a hidden copy, then rename it in.
                shutil.copytree(other_bundle, models / ".main-new")
                (models / "main").rename(models / ".main-old")
                (models / ".main-new").rename(models / "main")
                shutil.copytree(other_bundle, models / "added")
                proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + 30
                while _served(client).get("main") != _bundle_id(other_bundle):
                    assert time.monotonic() < deadline, "SIGHUP did not reload the changed bundle"
                    time.sleep(0.1)
                time.sleep(1.0)
            assert _served(client) == {"main": _bundle_id(other_bundle), "added": _bundle_id(other_bundle)}
        print(
            f"SIGHUP reload under load: {load.record.requests} requests, {len(load.record.failures)} failed"
        )
        assert load.record.failures == []
        assert load.record.requests >= 20, load.record.requests
        assert len(load.record.probe_vectors) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
