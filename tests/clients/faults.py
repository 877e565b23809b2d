"""Fault injectors for the retry tests: a loopback HTTP proxy and a gRPC server that refuse the first
calls the way an overloaded or draining service does, then behave."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager

import grpc
import httpx
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc


class Refusals:
    """Answers the first `count` calls with `code` (and `retry_after` seconds), records when calls came."""

    def __init__(self, count: int, code: str = "overloaded", retry_after: int | None = 1) -> None:
        self.count, self.code, self.retry_after = count, code, retry_after
        self.calls = 0
        self.lock = threading.Lock()

    def refuse_now(self) -> bool:
        with self.lock:
            self.calls += 1
            return self.calls <= self.count


@contextmanager
def refusing_proxy(upstream: str, refusals: Refusals) -> Iterator[str]:
    """An HTTP proxy in front of the real service that answers 429/503 while `refusals` says so."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _forward(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if refusals.refuse_now():
                status = 429 if refusals.code == "overloaded" else 503
                payload = json.dumps({"error": {"code": refusals.code, "message": "injected"}}).encode()
                self.send_response(status)
                if refusals.retry_after is not None:
                    self.send_header("Retry-After", str(refusals.retry_after))
            else:
                headers = {"content-type": self.headers.get("content-type", "application/json")}
                answer = httpx.request(
                    method, upstream + self.path, content=body, headers=headers, timeout=60
                )
                status, payload = answer.status_code, answer.content
                self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            self._forward("POST")

        def do_GET(self) -> None:
            self._forward("GET")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _RefusingServicer(pb_grpc.EmbeddingServiceServicer):
    def __init__(self, refusals: Refusals) -> None:
        self.refusals = refusals

    def EmbedText(self, request: pb.EmbedTextRequest, context: grpc.ServicerContext) -> pb.EmbedTextResponse:
        if self.refusals.refuse_now():
            info = error_details_pb2.ErrorInfo(reason=self.refusals.code, domain="videoprism.v1")
            detail = any_pb2.Any()
            detail.Pack(info)
            code = grpc.StatusCode.RESOURCE_EXHAUSTED
            status = status_pb2.Status(code=code.value[0], message="injected", details=[detail])
            trailers: list[tuple[str, str | bytes]] = [
                ("grpc-status-details-bin", status.SerializeToString())
            ]
            if self.refusals.retry_after is not None:
                trailers.append(("retry-after", str(self.refusals.retry_after)))
            context.abort_with_status(_Status(code, "injected", tuple(trailers)))
        data = [pb.TextEmbedding(index=i, embedding=[1.0, 0.0]) for i in range(len(request.texts))]
        return pb.EmbedTextResponse(model="fake", dim=2, data=data)


class _Status(grpc.Status):
    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: tuple[object, ...]) -> None:
        self.code, self.details, self.trailing_metadata = code, details, trailing_metadata


@contextmanager
def refusing_grpc_server(refusals: Refusals) -> Iterator[str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb_grpc.add_EmbeddingServiceServicer_to_server(_RefusingServicer(refusals), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(0)
