"""`bench/gpu_check.sh` on a machine without a GPU: stops at once with a clear message, installs nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_check.sh"


def _run(path_dirs: list[Path], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": os.pathsep.join(str(d) for d in path_dirs)}
    return subprocess.run(
        ["bash", str(SCRIPT), "--venv", str(tmp_path / "venv")],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def _tools(tmp_path: Path) -> Path:
    """A PATH with the shell tools the script needs and no nvidia-smi, whatever this machine has."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("bash", "dirname", "grep", "date", "sed"):
        found = shutil.which(name)
        assert found is not None
        (tools / name).symlink_to(found)
    return tools


def test_without_nvidia_smi_it_stops_at_once(tmp_path: Path) -> None:
    result = _run([_tools(tmp_path)], tmp_path)
    assert result.returncode == 3
    assert "no NVIDIA GPU on this machine" in result.stderr
    assert "nothing was installed or run" in result.stderr
    assert not (tmp_path / "venv").exists()


def test_a_driver_that_lists_no_gpu_counts_as_none(tmp_path: Path) -> None:
    tools = _tools(tmp_path)
    fake = tools / "nvidia-smi"  # a driver tool with no device behind it: the fault no real part here gives
    fake.write_text("#!/bin/sh\necho 'No devices were found'\nexit 6\n")
    fake.chmod(0o755)
    result = _run([tools], tmp_path)
    assert result.returncode == 3
    assert "no NVIDIA GPU on this machine" in result.stderr
    assert not (tmp_path / "venv").exists()
