"""`make run` on a clean copy of the working tree, as a new user on a fresh machine: a new `.venv`, pip told to
use no local wheel directory, index or cache (only the public index), and nothing but `make run` typed.

It asserts the service answers `/readyz` within 3 minutes of `make run`, that the serving venv holds no
torch, Ray or Playwright, and that it stays under 700 MB; it prints the time and the size it measured. It
downloads the serving stack (about 45 packages, ~100 MB of wheels), hence the longer timeout.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.deploy.conftest import ROOT

READY_WITHIN_S = 180.0
MAX_VENV_BYTES = 700 * 1024 * 1024
NOT_FOR_SERVING = ("torch", "ray", "playwright")


def _clean_copy(destination: Path) -> Path:
    """Tracked and untracked-but-not-ignored files of the working tree: what a clone of it would hold,
    uncommitted edits included, without .venv or any build output."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode()  # fmt: skip
    for relative in filter(None, listed.split("\0")):
        source = ROOT / relative
        if source.is_file():  # a tracked file deleted in the working tree is not part of it
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _fresh_machine_env(http_port: int, grpc_port: int) -> dict[str, str]:
    """This process's environment less every pip and service setting: pip reads no configuration file
    (PIP_CONFIG_FILE=/dev/null skips the user and machine-wide ones, with their local wheel folder and
    indexes) and keeps no cache, so every package comes from the public index."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "VIDEOPRISM_", "UV_")) and key not in ("VIRTUAL_ENV", "PYTHONPATH")
    }
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_CACHE_DIR="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        VIDEOPRISM_HTTP_PORT=str(http_port),
        VIDEOPRISM_GRPC_PORT=str(grpc_port),
        VIDEOPRISM_LOG_JSON="false",
    )
    # The machine's CA store, for a TLS-inspecting egress proxy; it is a certificate, not a package source.
    if "PIP_CERT" in os.environ:
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    return env


def _tree_bytes(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # make and videoprism-serve: a drain, then exit
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.timeout(600)
def test_make_run_serves_from_a_clean_clone_with_a_lean_venv(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    clone = _clean_copy(tmp_path / "clone")
    http_port, grpc_port = _free_port(), _free_port()
    env = _fresh_machine_env(http_port, grpc_port)
    log_path = tmp_path / "make-run.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["make", "run"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            ready_after = None
            while time.monotonic() - started < READY_WITHIN_S and process.poll() is None:
                try:
                    if httpx.get(f"http://127.0.0.1:{http_port}/readyz", timeout=2).status_code == 200:
                        ready_after = time.monotonic() - started
                        break
                except httpx.TransportError:
                    pass
                time.sleep(1)
            output = log_path.read_text(errors="replace")
            assert ready_after is not None, f"not ready within {READY_WITHIN_S:.0f} s:\n{output[-4000:]}"
        finally:
            _stop(process)
    venv = clone / ".venv"
    # The venv's pip saw the same environment: no find-links or extra index from any configuration.
    pip_config = subprocess.run(
        [str(venv / "bin" / "pip"), "config", "list"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "find-links" not in pip_config and "index-url" not in pip_config, pip_config
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import importlib.util, sys; "
         "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m)))", *NOT_FOR_SERVING],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    size = _tree_bytes(venv)
    print(f"\nmake run (clean copy, public index, no pip cache): ready after {ready_after:.1f} s; "
          f"serving venv {size / 2**20:.0f} MiB")  # fmt: skip
    assert found == [], f"serving venv holds {found}"
    assert size < MAX_VENV_BYTES, f"serving venv is {size / 2**20:.0f} MiB"
