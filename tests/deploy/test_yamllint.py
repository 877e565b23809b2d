"""yamllint (deploy/yamllint.yaml) on every YAML file the deployment side owns."""

from __future__ import annotations

import subprocess

import pytest

from tests.deploy.conftest import ROOT, venv_tool

CONFIG = ROOT / "deploy" / "yamllint.yaml"


def test_yamllint_clean() -> None:
    tool = venv_tool("yamllint")
    if tool is None:
        pytest.skip("yamllint not installed (dev extra)")
    files = sorted(
        {*ROOT.glob("deploy/**/*.yaml"), *ROOT.glob("deploy/**/*.yml"), ROOT / "docker-compose.yml"}
    )
    assert len(files) > 20  # the k8s base, overlays, prometheus, grafana provisioning
    result = subprocess.run(
        [tool, "--strict", "-c", str(CONFIG), *map(str, files)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
