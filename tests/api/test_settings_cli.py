"""`videoprism-serve`'s flags come from `Settings` (one source of truth), override the environment and parse
like it; `--version` names the package and the bundle; media settings and the client tools' API key come
from the environment."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from service.cli import build_parser, flag_name, parse_args, version_text
from service.settings import DEMO_BUNDLE, Settings
from videoprism_tools.embed.cli import parser as embed_parser
from videoprism_tools.search.cli import parser as search_parser


def test_every_setting_is_a_flag_that_names_its_variable() -> None:
    help_text = " ".join(build_parser().format_help().split())
    parser_flags = {flag for action in build_parser()._actions for flag in action.option_strings}
    missing = [name for name in Settings.model_fields if flag_name(name) not in parser_flags]
    assert missing == []
    unnamed = [name for name in Settings.model_fields if f"VIDEOPRISM_{name.upper()}" not in help_text]
    assert unnamed == []


def test_flags_override_the_environment_and_parse_like_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOPRISM_HTTP_PORT", "9000")
    monkeypatch.setenv("VIDEOPRISM_GRPC_PORT", "9001")
    overrides, version = parse_args(
        [
            "--http-port", "9100",
            "--allowed-ports", "80,8080",
            "--log-json", "false",
            "--grpc-max-connection-age-s", "300",
            "--media-max-pixels", "1000000",
        ]
    )  # fmt: skip
    settings = Settings(**overrides)
    assert not version
    assert (settings.http_port, settings.grpc_port) == (9100, 9001)  # the flag wins, the variable stays
    assert settings.allowed_ports == (80, 8080) and settings.log_json is False
    assert settings.grpc_max_connection_age_s == 300.0
    assert settings.media_settings().max_pixels == 1_000_000


def test_bad_flag_values_exit_2_with_the_flag_and_variable_named() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "--http-port", "not-a-port"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--http-port / VIDEOPRISM_HTTP_PORT" in done.stderr and "Traceback" not in done.stderr


def test_version_names_package_and_bundle(api_bundle_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "--version", "--bundle", str(api_bundle_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    package_line, bundle_line = done.stdout.strip().splitlines()
    assert package_line.startswith("videoprism-service ")
    assert str(api_bundle_dir) in bundle_line
    demo = version_text(Settings(bundle=DEMO_BUNDLE)).splitlines()[1]
    assert demo.startswith("bundle videoprism-tiny-demo 1 (id ") and demo != bundle_line


def test_media_settings_come_from_the_environment(
    settings_from_env: Callable[[dict[str, str]], Settings], tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    env = {
        "VIDEOPRISM_EGRESS_PROXY": "http://proxy.internal:3128",
        "VIDEOPRISM_CA_BUNDLE": str(ca),
        "VIDEOPRISM_MEDIA_MAX_PIXELS": "2073600",
        "VIDEOPRISM_MAX_CONCURRENT_DECODES": "6",
    }
    media = settings_from_env(env).media_settings()
    assert media.egress_proxy == "http://proxy.internal:3128" and media.ca_bundle == ca
    assert (media.max_pixels, media.max_concurrent_decodes) == (2_073_600, 6)


def test_client_tools_read_the_api_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOPRISM_API_KEY", "from-env")
    assert embed_parser().parse_args(["in/", "-o", "out/"]).api_key == "from-env"
    assert search_parser().parse_args(["query", "emb/", "a dog"]).api_key == "from-env"
    flagged = search_parser().parse_args(["query", "emb/", "a dog", "--api-key", "flag"])
    assert flagged.api_key == "flag"
    monkeypatch.delenv("VIDEOPRISM_API_KEY")
    assert embed_parser().parse_args(["in/", "-o", "out/"]).api_key is None
