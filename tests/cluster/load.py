"""Steady closed-loop load through the balancer: HTTP (httpx) and gRPC (grpc.aio) clients that turn request
i into an outcome label ("http ok", "grpc ok", or what went wrong), and a driver that runs them until told to stop.

The HTTP client never retries: a draining replica's 503 must be absorbed by nginx (`proxy_next_upstream
... http_503 non_idempotent`). gRPC errors travel inside an HTTP 200, so nginx cannot retry them; the gRPC
client carries a retry policy for UNAVAILABLE in its service config, which is what a real client of a
drained replica needs too (docs/deploy.md, "Local cluster test").
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

import grpc
import httpx

from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

Send = Callable[[int], Awaitable[str]]

# Embedding calls are pure functions of their input, so repeating one is safe. UNAVAILABLE: a draining
# replica refused the call. CANCELLED: a call nginx sent on its keep-alive connection just as the replica's
# gRPC server stopped (it happens about once in ten failover runs); the library never retries a call the
# client cancelled itself, so this only re-sends the server-side ones.
GRPC_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": "videoprism.v1.EmbeddingService"}],
                "retryPolicy": {
                    "maxAttempts": 5,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "0.5s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE", "CANCELLED"],
                },
            }
        ]
    }
)


def _item_outcome(data: list[dict[str, object]]) -> str:
    errors = [item["error"] for item in data if "error" in item]
    return f"http item-error:{errors[0]}" if errors else "http ok"


class HttpLoad:
    """Alternates text requests and base64 video uploads (a handful of clips, so most are cache hits)."""

    def __init__(self, base_url: str, clips: Sequence[bytes]) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=60.0)
        self._videos = [base64.b64encode(clip).decode() for clip in clips]

    async def __aenter__(self) -> HttpLoad:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def send(self, index: int) -> str:
        if index % 2:
            video = self._videos[index % len(self._videos)]
            response = await self._client.post("/v1/embed/video", json={"videos": [{"data": video}]})
        else:
            response = await self._client.post("/v1/embed/text", json={"texts": [f"http load {index}"]})
        if response.status_code != 200:
            return f"http {response.status_code}"
        return _item_outcome(response.json()["data"])


class GrpcLoad:
    """EmbedText over one channel (one HTTP/2 connection to nginx, balanced per request behind it)."""

    def __init__(self, target: str) -> None:
        self._channel = grpc.aio.insecure_channel(
            target, options=[("grpc.enable_retries", 1), ("grpc.service_config", GRPC_SERVICE_CONFIG)]
        )
        self._stub = pb_grpc.EmbeddingServiceStub(self._channel)

    async def __aenter__(self) -> GrpcLoad:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._channel.close()

    async def send(self, index: int) -> str:
        try:
            answer = await self._stub.EmbedText(pb.EmbedTextRequest(texts=[f"grpc load {index}"]), timeout=60)
        except grpc.aio.AioRpcError as exc:
            return f"grpc {exc.code().name}"
        return "grpc ok" if len(answer.data) == 1 and answer.data[0].embedding else "grpc empty"


async def drive(sends: Sequence[tuple[Send, int]], stop: asyncio.Event) -> Counter[str]:
    """Closed loop: for each (send, workers), that many workers send back to back until `stop` is set.
    Every request is counted by outcome ("http ok", "grpc UNAVAILABLE", ...), client-side exceptions too."""
    outcomes: Counter[str] = Counter()
    counter = iter(range(1 << 62))

    async def worker(send: Send) -> None:
        while not stop.is_set():
            try:
                outcomes[await send(next(counter))] += 1
            except Exception as exc:  # a failed request is a result to report, not a reason to stop
                outcomes[f"error:{type(exc).__name__}"] += 1

    await asyncio.gather(*(worker(send) for send, workers in sends for _ in range(workers)))
    return outcomes
