"""deploy/nginx: the rendered config passes `nginx -t`, and with two stub replicas on loopback it balances
HTTP per request, retries a 503 (draining) replica on the other, and balances gRPC per request over a
single client connection. Stubs stand in for videoprism-serve until the cluster test uses the real server."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import pytest

from tests.deploy.conftest import load_script

NGINX = shutil.which("nginx")
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx not installed (make system-deps installs it)")
render = load_script("deploy/nginx/render.py").render


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _wait_for_port(port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def _http_stub(port: int, name: str, status: int) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            self.rfile.read(length)
            body = name.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_rendered_config_passes_nginx_t(tmp_path: Path) -> None:
    conf = render(tmp_path, 18000, 18051, [18001, 18002, 18003], [18052, 18053])
    text = conf.read_text()
    assert "${" not in text.split("\n", 2)[2]  # every placeholder filled (the header names the syntax)
    assert text.count("server 127.0.0.1:") == 5
    result = subprocess.run(
        [str(NGINX), "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    with pytest.raises(ValueError):
        render(tmp_path, 18000, 18051, [], [18052])


def test_default_body_limit_admits_the_largest_upload_the_service_accepts() -> None:
    from service.settings import Settings

    size = load_script("deploy/nginx/render.py").render.__defaults__[0]
    assert size.endswith("m")
    assert int(size[:-1]) * 2**20 >= Settings().max_upload_bytes


@pytest.fixture
def balancer(tmp_path: Path) -> Iterator[tuple[int, int, list[int], list[int]]]:
    lb_http, lb_grpc, *upstreams = _free_ports(6)
    http_ports, grpc_ports = upstreams[:2], upstreams[2:]
    conf = render(tmp_path, lb_http, lb_grpc, http_ports, grpc_ports)
    proc = subprocess.Popen(
        [str(NGINX), "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_port(lb_http)
        _wait_for_port(lb_grpc)
        yield lb_http, lb_grpc, http_ports, grpc_ports
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _post(port: int, body: bytes = b"{}") -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/embed/text", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read().decode()


def test_http_round_robin_and_retry_of_a_draining_replica(
    balancer: tuple[int, int, list[int], list[int]],
) -> None:
    lb_http, _, (port_a, port_b), _ = balancer
    a, b = _http_stub(port_a, "a", 200), _http_stub(port_b, "b", 200)
    try:
        seen = Counter(_post(lb_http)[1] for _ in range(10))
        assert seen == Counter({"a": 5, "b": 5})  # per request, alternating
        # A clip-sized upload (far above nginx's default 16 KiB body buffer) passes through.
        assert _post(lb_http, b"x" * (4 << 20))[0] == 200
    finally:
        a.shutdown()
        a.server_close()
    draining = _http_stub(port_a, "a", 503)  # replica a now drains: 503 on every request
    try:
        answers = [_post(lb_http) for _ in range(6)]
        assert answers == [(200, "b")] * 6  # nginx retried the POSTs on b; clients saw no error
    finally:
        draining.shutdown()
        draining.server_close()
        b.shutdown()
        b.server_close()


def test_grpc_is_balanced_per_request_over_one_connection(
    balancer: tuple[int, int, list[int], list[int]],
) -> None:
    grpc = pytest.importorskip("grpc")
    _, lb_grpc, _, grpc_ports = balancer
    servers = []
    for name, port in zip(("a", "b"), grpc_ports, strict=True):
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        handler = grpc.unary_unary_rpc_method_handler(lambda request, context, name=name: name.encode())
        server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler("videoprism.v1.Who", {"Am": handler})]
        )
        server.add_insecure_port(f"127.0.0.1:{port}")
        server.start()
        servers.append(server)
    try:
        # One channel = one HTTP/2 connection to nginx; a per-connection balancer would pin it to one replica.
        with grpc.insecure_channel(f"127.0.0.1:{lb_grpc}") as channel:
            call = channel.unary_unary("/videoprism.v1.Who/Am")
            seen = Counter(call(b"", timeout=5).decode() for _ in range(10))
        assert seen == Counter({"a": 5, "b": 5})
    finally:
        for server in servers:
            server.stop(grace=None)


def test_only_embedding_routes_and_health_are_proxied(
    balancer: tuple[int, int, list[int], list[int]],
) -> None:
    grpc = pytest.importorskip("grpc")
    lb_http, lb_grpc, (port_a, port_b), grpc_ports = balancer
    a, b = _http_stub(port_a, "a", 200), _http_stub(port_b, "b", 200)
    try:
        passed = {}
        for path in ("/healthz", "/readyz", "/v1/models", "/v1/embed/video", "/v1/embeddings"):
            with urllib.request.urlopen(f"http://127.0.0.1:{lb_http}{path}", timeout=5) as response:
                passed[path] = response.read().decode()
        refused = {}
        for path in ("/metrics", "/docs", "/openapi.json", "/redoc", "/v1/embeddingsX"):
            with pytest.raises(urllib.error.HTTPError) as raised:
                urllib.request.urlopen(f"http://127.0.0.1:{lb_http}{path}", timeout=5)
            refused[path] = (raised.value.code, json.loads(raised.value.read())["error"]["code"])
    finally:
        for stub in (a, b):
            stub.shutdown()
            stub.server_close()
    assert set(passed.values()) <= {"a", "b"} and len(passed) == 5
    assert set(refused.values()) == {(404, "invalid_request")}
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: b"reflected")
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("grpc.reflection.v1.ServerReflection", {"Info": handler})]
    )
    for port in grpc_ports:
        server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    try:
        with (
            grpc.insecure_channel(f"127.0.0.1:{lb_grpc}") as channel,
            pytest.raises(grpc.RpcError) as reflection,
        ):
            channel.unary_unary("/grpc.reflection.v1.ServerReflection/Info")(b"", timeout=5)
    finally:
        server.stop(grace=None)
    assert reflection.value.code() == grpc.StatusCode.UNIMPLEMENTED
