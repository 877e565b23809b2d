"""Async clients that turn request i into an outcome label; imported only by runs, never by unit tests.

HTTP uses aiohttp (in the `bench` extra): on a 2-core machine the generator shares the CPU with the server,
and aiohttp spends markedly less CPU per request than httpx, so it distorts the server's figures less.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import grpc

from bench.loadgen.workloads import text_for
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

Body = Callable[[int], bytes]


class HttpClient:
    """POSTs `body(i)` to `url`; the outcome is the status code, or `error:<exception>`."""

    def __init__(self, url: str, body: Body, *, content_type: str = "application/json", limit: int = 1024,
                 timeout_s: float = 120.0, headers: dict[str, str] | None = None) -> None:  # fmt: skip
        self.url = url
        self.body = body
        self.headers = {"content-type": content_type, **(headers or {})}
        self._limit = limit
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._limit), timeout=self._timeout
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await self._session.close()

    async def send(self, index: int) -> str:
        assert self._session is not None
        async with self._session.post(self.url, data=self.body(index), headers=self.headers) as response:
            await response.read()  # the whole answer is part of the latency
            return str(response.status)


class GrpcTextClient:
    """Calls EmbedText with one text per request; the outcome is "200" for OK, else `grpc:<code>`."""

    def __init__(self, target: str, timeout_s: float = 120.0) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self._channel: grpc.aio.Channel | None = None
        self._stub: Any = None

    async def __aenter__(self) -> GrpcTextClient:
        self._channel = grpc.aio.insecure_channel(self.target)
        self._stub = pb_grpc.EmbeddingServiceStub(self._channel)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._channel is not None
        await self._channel.close()

    async def send(self, index: int) -> str:
        try:
            await self._stub.EmbedText(pb.EmbedTextRequest(texts=[text_for(index)]), timeout=self.timeout_s)
        except grpc.aio.AioRpcError as exc:
            return f"grpc:{exc.code().name}"
        return "200"
