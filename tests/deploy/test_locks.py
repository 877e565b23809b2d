"""docker/requirements-*.lock: the images install these with --no-deps, so they must pin every package the
serve (and gpu) extras need, exactly, and never torch or both ONNX Runtime builds."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.deploy.conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _entries(extra: str) -> list[str]:
    """One entry per pin, its `\\`-continued `--hash` lines joined onto it."""
    text = (ROOT / "docker" / f"requirements-{extra}.lock").read_text()
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [entry.strip() for entry in re.sub(r"\\\n\s*", " ", "\n".join(lines)).splitlines()]


def _lock(extra: str) -> dict[str, str]:
    pins = {}
    for entry in _entries(extra):
        match = re.match(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)(\s|$)", entry)
        assert match, f"not an exact pin: {entry!r}"
        pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


@pytest.mark.parametrize("extra", ["serve", "gpu"])
def test_every_pin_carries_sha256_hashes(extra: str) -> None:
    for entry in _entries(extra):
        hashes = re.findall(r"--hash=sha256:([0-9a-f]+)", entry)
        assert hashes and all(len(h) == 64 for h in hashes), (
            f"run python docker/update-locks.py: {entry[:60]}"
        )


@pytest.mark.parametrize("extra", ["serve", "gpu"])
def test_lock_covers_the_extras(extra: str) -> None:
    pins = _lock(extra)
    wanted = [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["serve"]]
    if extra == "gpu":
        # onnxruntime-gpu replaces onnxruntime; TensorRT comes from NVIDIA's index (Dockerfile.gpu ARG).
        wanted = [r for r in wanted if _name(r) != "onnxruntime"]
        wanted += [r for r in PROJECT["optional-dependencies"]["gpu"] if not _name(r).startswith("tensorrt")]
    missing = {_name(r) for r in wanted} - set(pins)
    assert not missing, f"run python docker/update-locks.py; missing {missing}"
    assert "torch" not in pins
    assert not {"onnxruntime", "onnxruntime-gpu"} <= set(pins), "both runtimes ship the same module"


def test_gpu_lock_has_the_gpu_runtime() -> None:
    assert "onnxruntime-gpu" in _lock("gpu")
    assert "onnxruntime" in _lock("serve")
    shared = set(_lock("serve")) & set(_lock("gpu"))
    # The two images differ in the runtime only: shared packages keep the same versions.
    assert {p for p in shared if _lock("serve")[p] != _lock("gpu")[p]} == set()
