"""docker-compose.yml: valid against the Compose Specification schema (vendored by check-jsonschema, so
offline), `docker compose config` where the compose plugin exists, and the stack's promises."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import resources
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.conftest import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


def _schema() -> dict[str, Any]:
    try:
        vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    except ModuleNotFoundError:
        pytest.skip("check-jsonschema not installed (dev extra): no offline Compose schema")
    schema: dict[str, Any] = json.loads(vendor.joinpath("compose-spec.json").read_text())
    return schema


def test_compose_file_matches_the_compose_spec() -> None:
    schema = _schema()
    jsonschema.validate(_compose(), schema)
    broken = _compose()
    broken["services"]["redis"]["restart_policy"] = "always"  # negative control: not a compose key
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_docker_compose_config() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"docker CLI has no compose plugin: {probe.stderr.strip() or probe.stdout.strip()}")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def _arg(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_stack_promises() -> None:
    services = _compose()["services"]
    assert {"videoprism", "redis", "prometheus", "grafana"} <= set(services)
    redis = services["redis"]["command"]
    assert _arg(redis, "--maxmemory") == "256mb"
    assert _arg(redis, "--maxmemory-policy") == "allkeys-lru"
    for name in ("videoprism", "videoprism-gpu"):
        svc = services[name]
        env = svc["environment"]
        assert env["VIDEOPRISM_REDIS_URL"].startswith("redis://redis:")
        assert svc["read_only"] is True and any(t.startswith("/tmp") for t in svc["tmpfs"])
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy"
        grace_s = int(svc["stop_grace_period"].removesuffix("s"))
        assert grace_s > int(env["VIDEOPRISM_DRAIN_TIMEOUT_S"])
        assert "torch" not in json.dumps(svc)
    assert services["videoprism"]["build"]["dockerfile"] == "docker/Dockerfile"
    gpu = services["videoprism-gpu"]
    assert gpu["build"]["dockerfile"] == "docker/Dockerfile.gpu"
    assert gpu["profiles"] == ["gpu"]  # `docker compose up` alone never asks for a GPU
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    for svc in services.values():
        image = svc.get("image", "")
        assert not image.endswith(":latest") and (":" in image or "build" in svc)
