"""`Settings`: the documented env names, list parsing, defaults of `make run`, and no secret in repr."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from service.settings import DEMO_BUNDLE, Settings


def test_defaults_serve_the_demo_bundle_on_loopback_with_the_memory_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_HOST", "HTTP_PORT", "GRPC_HOST", "GRPC_PORT", "BUNDLE", "REDIS_URL", "API_KEYS"):
        monkeypatch.delenv(f"VIDEOPRISM_{name}", raising=False)
    settings = Settings()
    assert (settings.http_host, settings.http_port, settings.grpc_host, settings.grpc_port) == (
        "127.0.0.1",
        8000,
        "127.0.0.1",
        50051,
    )
    assert settings.bundle == DEMO_BUNDLE and settings.cache_backend == "memory"
    assert settings.api_key_values() == frozenset()


def test_env_names_and_lists(settings_from_env: Callable[[dict[str, str]], Settings], tmp_path: Path) -> None:
    env = {
        "VIDEOPRISM_HTTP_HOST": "0.0.0.0",
        "VIDEOPRISM_HTTP_PORT": "9000",
        "VIDEOPRISM_GRPC_HOST": "0.0.0.0",
        "VIDEOPRISM_GRPC_PORT": "9001",
        "VIDEOPRISM_BUNDLE": str(tmp_path),
        "VIDEOPRISM_REDIS_URL": "redis://cache:6379/1",
        "VIDEOPRISM_API_KEYS": "k1, k2",
        "VIDEOPRISM_ALLOWED_PORTS": "[80, 8080]",
        "VIDEOPRISM_HOST_DENYLIST": "Bad.Example.com,.internal",
        "VIDEOPRISM_ALLOW_NETWORKS": "127.0.0.1/32",
    }
    settings = settings_from_env(env)
    assert (settings.http_host, settings.http_port, settings.grpc_port) == ("0.0.0.0", 9000, 9001)
    assert settings.bundle == tmp_path and settings.cache_backend == "redis"
    assert settings.cache_settings().redis_url == "redis://cache:6379/1"
    assert settings.api_key_values() == frozenset({"k1", "k2"})
    assert "k1" not in repr(settings) and "k1" not in str(settings.model_dump())
    media = settings.media_settings()
    assert media.allowed_ports == frozenset({80, 8080})
    assert media.host_denylist == ("bad.example.com", ".internal")
    assert [str(n) for n in media.allow_networks] == ["127.0.0.1/32"]


def test_invalid_values_fail_at_startup() -> None:
    with pytest.raises(ValueError):
        Settings(allow_networks=("not-a-network",))
    with pytest.raises(ValueError):
        Settings(http_port=70000)


def test_every_setting_is_in_the_readme_table(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"| `VIDEOPRISM_{name.upper()}` |" not in readme]
    assert missing == []
