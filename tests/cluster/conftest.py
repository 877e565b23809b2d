"""The local load-balanced cluster: one real Redis, two real `videoprism-serve` replicas sharing it, and nginx
in front (HTTP round robin, gRPC over HTTP/2), all on loopback. Module-scoped: a module that kills a replica
gets a cluster of its own."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cluster.origin import HeldOrigin
from tests.cluster.processes import Nginx, Replica, free_ports
from tests.core.bundle_factory import TinyBundleSpec, build_tiny_bundle
from tests.core.redis_server import RedisServer


@dataclass
class Cluster:
    replicas: tuple[Replica, Replica]
    nginx: Nginx
    redis: RedisServer
    origin: HeldOrigin

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.nginx.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.nginx.grpc_port}"

    def replica_at(self, port: int) -> Replica:
        """The replica that owns an upstream port (HTTP or gRPC) seen in nginx's access log."""
        for replica in self.replicas:
            if port in (replica.http_port, replica.grpc_port):
                return replica
        raise KeyError(port)


@pytest.fixture(scope="session")
def cluster_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bundle(tmp_path_factory.mktemp("cluster_bundle"), TinyBundleSpec())


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Three small, distinct real MP4 files."""
    folder = tmp_path_factory.mktemp("cluster_media")
    out = []
    for index, source in enumerate(("testsrc", "testsrc2", "rgbtestsrc")):
        path = folder / f"clip{index}.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{source}=size=64x48:rate=10", "-t", "2",
             "-c:v", "mpeg4", "-pix_fmt", "yuv420p", str(path)],
            check=True, timeout=60,
        )  # fmt: skip
        out.append(path.read_bytes())
    return out


@pytest.fixture(scope="module")
def cluster(
    cluster_bundle: Path, clips: list[bytes], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    origin = HeldOrigin(clips[0])
    redis = RedisServer(root)
    redis.start()
    env = {
        "VIDEOPRISM_BUNDLE": str(cluster_bundle),
        "VIDEOPRISM_REDIS_URL": redis.url,
        "VIDEOPRISM_DEVICE": "cpu",
        # Two replicas, nginx, Redis and the load share two cores: one inference thread each.
        "VIDEOPRISM_INTRA_OP_THREADS": "1",
        # Longer than any test holds a request in flight, so a drain always ends by finishing its work.
        "VIDEOPRISM_DRAIN_TIMEOUT_S": "120",
        # The test-only exception to the SSRF policy: the loopback origin and its port.
        "VIDEOPRISM_ALLOW_NETWORKS": "127.0.0.1/32",
        "VIDEOPRISM_ALLOWED_PORTS": f"80,443,{origin.port}",
        "VIDEOPRISM_LOG_LEVEL": "WARNING",
    }
    lb_http, lb_grpc, *ports = free_ports(6)
    replicas = (
        Replica("a", ports[0], ports[1], root / "a", env),
        Replica("b", ports[2], ports[3], root / "b", env),
    )
    nginx = Nginx(root / "nginx", lb_http, lb_grpc, [ports[0], ports[2]], [ports[1], ports[3]])
    try:
        for replica in replicas:
            replica.start()  # both load their model at the same time
        for replica in replicas:
            replica.wait_ready()
        nginx.start()
        yield Cluster(replicas, nginx, redis, origin)
    finally:
        origin.release.set()  # a replica draining on a held download can finish it
        nginx.stop()
        for replica in replicas:
            replica.stop()
        redis.kill()
        origin.close()
