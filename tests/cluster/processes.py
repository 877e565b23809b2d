"""The real processes of the local cluster: `videoprism-serve` replicas and nginx, each a subprocess on
loopback whose output goes to a file (a pipe nobody reads would block a chatty server)."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.deploy.conftest import load_script

SERVE = Path(sys.executable).with_name("videoprism-serve")
requires_tools = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("nginx", "redis-server", "ffmpeg")),
    reason="nginx, redis-server and ffmpeg are needed (make system-deps installs them)",
)
# A loaded 2-core machine can take a while to import onnxruntime and warm two replicas up at once.
START_TIMEOUT_S = 90.0


def free_ports(n: int) -> list[int]:
    """Distinct free loopback ports (all held open together, so no two of them are the same)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_until(
    predicate: Callable[[], bool], what: str, timeout_s: float, alive: subprocess.Popen[bytes]
) -> None:
    """Polls `predicate()` until true; fails early if the process it waits for has exited."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if alive.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {alive.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(0.1)


@dataclass
class Replica:
    name: str
    http_port: int
    grpc_port: int
    workdir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log(self) -> Path:
        return self.workdir / "serve.log"

    def start(self) -> Replica:
        spool = self.workdir / "spool"
        spool.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            **self.env,
            "VIDEOPRISM_HTTP_PORT": str(self.http_port),
            "VIDEOPRISM_GRPC_PORT": str(self.grpc_port),
            "VIDEOPRISM_TEMP_DIR": str(spool),
        }
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([str(SERVE)], env=env, stdout=out, stderr=subprocess.STDOUT)
        return self

    def _http_ready(self) -> bool:
        try:
            return httpx.get(f"{self.http_url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def _grpc_serving(self) -> bool:
        with grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}") as channel:
            try:
                answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
            except grpc.RpcError:
                return False
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        assert self.process is not None
        wait_until(self._http_ready, f"replica {self.name} /readyz", timeout_s, self.process)
        wait_until(self._grpc_serving, f"replica {self.name} gRPC health", timeout_s, self.process)

    def sigterm(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def wait_exit(self, timeout_s: float = 60.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout_s)

    def stop(self) -> None:
        """Teardown: SIGTERM (a graceful drain), SIGKILL only if that hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.sigterm()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def metrics(self) -> str:
        """This replica's own /metrics, scraped on its own port, not through the balancer."""
        return httpx.get(f"{self.http_url}/metrics", timeout=10).text


@dataclass
class Nginx:
    """nginx from deploy/nginx/nginx.conf.template, in front of the replicas' HTTP and gRPC ports."""

    prefix: Path
    http_port: int
    grpc_port: int
    http_upstreams: list[int]
    grpc_upstreams: list[int]
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    def start(self) -> Nginx:
        binary = shutil.which("nginx")
        if binary is None:
            raise RuntimeError("nginx is not installed (make system-deps installs it)")
        render = load_script("deploy/nginx/render.py").render
        conf = render(self.prefix, self.http_port, self.grpc_port, self.http_upstreams, self.grpc_upstreams)
        error_log = str(self.prefix / "error.log")
        with (self.prefix / "nginx.out").open("wb") as out:
            self.process = subprocess.Popen(
                [binary, "-p", str(self.prefix), "-c", str(conf), "-e", error_log],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        for port in (self.http_port, self.grpc_port):
            wait_until(functools.partial(_listening, port), f"nginx on {port}", 30, self.process)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # nginx: SIGTERM is a fast shutdown
            self.process.wait(15)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
