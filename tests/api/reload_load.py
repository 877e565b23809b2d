"""Client load for the reload tests: a few threads looping real requests over REST, the OpenAI route and
gRPC, recording every failure and the vectors one fixed text got."""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field

import grpc
import httpx

from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

PROBE_TEXT = "a red ball rolls"


@dataclass
class LoadRecord:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    probe_vectors: set[tuple[float, ...]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, vector: list[float] | None = None) -> None:
        with self.lock:
            self.requests += 1
            if vector is not None:
                self.probe_vectors.add(tuple(round(x, 5) for x in vector))

    def failed(self, what: str) -> None:
        with self.lock:
            self.requests += 1
            self.failures.append(what)


class ClientLoad:
    """`clients` threads looping while the context is open: REST text, REST video (inline bytes), the OpenAI route and
    gRPC text, in turn. Every request names `model` (None: the default)."""

    def __init__(
        self,
        http_url: str,
        grpc_target: str,
        video: bytes,
        model: str | None,
        *,
        api_key: str | None = None,
        clients: int = 4,
    ) -> None:
        self.record = LoadRecord()
        self._headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._http_url, self._grpc_target, self._video, self._model = http_url, grpc_target, video, model
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(clients)]

    def __enter__(self) -> ClientLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def _loop(self, index: int) -> None:
        data = base64.b64encode(self._video).decode()
        extra = {} if self._model is None else {"model": self._model}
        with (
            httpx.Client(base_url=self._http_url, headers=self._headers, timeout=60) as client,
            grpc.insecure_channel(self._grpc_target) as channel,
        ):
            stub = pb_grpc.EmbeddingServiceStub(channel)
            turn = index
            while not self._stop.is_set():
                kind = turn % 4
                turn += 1
                try:
                    if kind == 0:
                        r = client.post("/v1/embed/text", json={"texts": [PROBE_TEXT], **extra})
                        self._check(r, lambda body: body["data"][0]["embedding"])
                    elif kind == 1:
                        r = client.post("/v1/embed/video", json={"videos": [{"data": data}], **extra})
                        self._check(r, None)
                    elif kind == 2:
                        r = client.post("/v1/embeddings", json={"input": "a dog", "model": self._model or ""})
                        self._check(r, None)
                    else:
                        reply = stub.EmbedText(
                            pb.EmbedTextRequest(texts=["a cat"], model=self._model or ""),
                            timeout=60,
                            metadata=tuple(self._headers.items()),
                        )
                        if reply.data[0].HasField("error") or not reply.data[0].embedding:
                            self.record.failed(f"grpc item error {reply.data[0].error.code}")
                        else:
                            self.record.ok()
                except (httpx.HTTPError, grpc.RpcError) as error:
                    self.record.failed(f"kind {kind}: {error!r}")

    def _check(self, response: httpx.Response, probe: object) -> None:
        if response.status_code != 200:
            self.record.failed(f"{response.request.url.path}: {response.status_code} {response.text[:200]}")
            return
        body = response.json()
        items = body.get("data", [])
        if not items or items[0].get("error") or not items[0].get("embedding"):
            self.record.failed(f"{response.request.url.path}: item error {items[:1]}")
            return
        self.record.ok(probe(body) if callable(probe) else None)
