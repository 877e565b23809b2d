"""Start a server under test as a child process pinned to given cores, wait until it is ready, stop it.

Pinning with `os.sched_setaffinity` in the child (before exec) gives every server under comparison the same
CPU budget, and every process it forks (Ray workers, LitServe workers, ffmpeg) inherits the same cores.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    def __init__(self, argv: Sequence[str], *, env: dict[str, str] | None = None,
                 cpus: set[int] | None = None, ready_url: str, log_path: Path | None = None) -> None:  # fmt: skip
        self.argv = list(argv)
        self.env = {**os.environ, **(env or {})}
        self.cpus = cpus
        self.ready_url = ready_url
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def _pin(self) -> None:
        if self.cpus:
            os.sched_setaffinity(0, self.cpus)

    def start(self, timeout_s: float = 180.0) -> ServerProcess:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=self._pin, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.argv[0]} exited with {self.process.returncode} (log: {self.log_path})"
                )
            try:
                if httpx.get(self.ready_url, timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.argv} not ready at {self.ready_url} within {timeout_s}s")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL to the whole session (peers leave worker processes behind otherwise)."""
        if self.process is None:
            return None
        family = self._descendants()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout_s)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in family:  # Ray workers may live in their own session; they are ours to end all the same
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(10)
        return self.process.returncode

    def _descendants(self) -> list[int]:
        try:
            import psutil
        except ImportError:  # psutil comes with the bench extra; without it the process group is enough
            return []
        assert self.process is not None
        try:
            return [c.pid for c in psutil.Process(self.process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []


def videoprism_serve(http_port: int, grpc_port: int, *, cpus: set[int] | None, env: dict[str, str] | None = None,
                     log_path: Path | None = None) -> ServerProcess:  # fmt: skip
    """`videoprism-serve` of this checkout on the demo bundle (override anything with `env`)."""
    values = {
        "VIDEOPRISM_HTTP_PORT": str(http_port),
        "VIDEOPRISM_GRPC_PORT": str(grpc_port),
        "VIDEOPRISM_DEVICE": "cpu",
        "VIDEOPRISM_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    argv = [sys.executable, "-m", "service.cli"]
    return ServerProcess(argv, env=values, cpus=cpus, ready_url=f"http://127.0.0.1:{http_port}/readyz",
                         log_path=log_path)  # fmt: skip
