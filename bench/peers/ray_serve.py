"""Ray Serve peer: one replica, `@serve.batch` on text and on frames, behind Serve's own HTTP proxy.

PEER_PORT=8100 PEER_MAX_BATCH_TEXT=32 PEER_BATCH_WAIT_TEXT_MS=2 python -m bench.peers.ray_serve
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import numpy as np
import numpy.typing as npt
import ray
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse

from bench.peers.model import BundleModel, text_response

TEXT_BATCH = int(os.environ.get("PEER_MAX_BATCH_TEXT", "32"))
TEXT_WAIT_S = float(os.environ.get("PEER_BATCH_WAIT_TEXT_MS", "2")) / 1000
VIDEO_BATCH = int(os.environ.get("PEER_MAX_BATCH_VIDEO", "8"))
VIDEO_WAIT_S = float(os.environ.get("PEER_BATCH_WAIT_VIDEO_MS", "5")) / 1000


@serve.deployment(num_replicas=1, max_ongoing_requests=4096, ray_actor_options={"num_cpus": 0})
class Embedder:
    def __init__(self) -> None:
        self.model = BundleModel()

    @serve.batch(max_batch_size=TEXT_BATCH, batch_wait_timeout_s=TEXT_WAIT_S)
    async def texts(self, texts: list[str]) -> list[list[float]]:
        return [v.tolist() for v in self.model.embed_texts(texts)]

    @serve.batch(max_batch_size=VIDEO_BATCH, batch_wait_timeout_s=VIDEO_WAIT_S)
    async def clips(self, clips: list[npt.NDArray[np.uint8]]) -> list[list[float]]:
        return [v.tolist() for v in self.model.embed_frames(clips)]

    async def __call__(self, request: Request) -> Any:
        if request.method == "GET":
            return JSONResponse({"status": "ready"})
        body = await request.json()
        if request.url.path.endswith("/text"):
            (text,) = body["texts"]
            return JSONResponse(text_response(np.asarray(await self.texts(text))))
        (item,) = body["videos"]
        vector = await self.clips(self.model.frames_from_json(item))
        return JSONResponse(text_response(np.asarray(vector)))


def main() -> None:
    port = int(os.environ.get("PEER_PORT", "8100"))
    # One CPU for Ray's bookkeeping; the process affinity set by the launcher is the real budget.
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    # `@serve.deployment` turns the class into a Deployment at runtime; its stubs do not say so.
    serve.run(Embedder.bind(), route_prefix="/", blocking=False)  # type: ignore[attr-defined]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    # No serve.shutdown(): on a loaded 2-core machine it can hang for minutes; the launcher ends every
    # process of this tree instead.
    os._exit(0)


if __name__ == "__main__":
    main()
