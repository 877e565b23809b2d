"""LitServe peer: one inference worker per door with LitServe's batching, on LitServe's uvicorn front.

PEER_PORT=8200 PEER_MAX_BATCH_TEXT=32 PEER_BATCH_WAIT_TEXT_MS=2 python -m bench.peers.lit_serve
"""

# No `from __future__ import annotations`: LitServe reads decode_request's annotation at runtime to build
# the FastAPI endpoint, and a string annotation makes FastAPI expect a query parameter (every call 422).
import os
from typing import Any

import litserve as ls
import numpy as np
import numpy.typing as npt

from bench.peers.model import BundleModel, text_response

TEXT_BATCH = int(os.environ.get("PEER_MAX_BATCH_TEXT", "32"))
TEXT_WAIT_S = float(os.environ.get("PEER_BATCH_WAIT_TEXT_MS", "2")) / 1000
VIDEO_BATCH = int(os.environ.get("PEER_MAX_BATCH_VIDEO", "8"))
VIDEO_WAIT_S = float(os.environ.get("PEER_BATCH_WAIT_VIDEO_MS", "5")) / 1000


class TextAPI(ls.LitAPI):
    def setup(self, device: str) -> None:
        self.model = BundleModel()

    def decode_request(self, request: dict[str, Any]) -> str:
        (text,) = request["texts"]
        return str(text)

    def batch(self, inputs: list[str]) -> list[str]:
        return inputs

    def predict(self, x: list[str]) -> list[list[float]]:
        return [v.tolist() for v in self.model.embed_texts(x)]

    def unbatch(self, output: list[list[float]]) -> list[list[float]]:
        return output

    def encode_response(self, output: list[float]) -> dict[str, Any]:
        return text_response(np.asarray(output))


class VideoAPI(ls.LitAPI):
    def setup(self, device: str) -> None:
        self.model = BundleModel()

    def decode_request(self, request: dict[str, Any]) -> npt.NDArray[np.uint8]:
        (item,) = request["videos"]
        return self.model.frames_from_json(item)

    def batch(self, inputs: list[npt.NDArray[np.uint8]]) -> list[npt.NDArray[np.uint8]]:
        return inputs

    def predict(self, x: list[npt.NDArray[np.uint8]]) -> list[list[float]]:
        return [v.tolist() for v in self.model.embed_frames(x)]

    def unbatch(self, output: list[list[float]]) -> list[list[float]]:
        return output

    def encode_response(self, output: list[float]) -> dict[str, Any]:
        return text_response(np.asarray(output))


def main() -> None:
    apis = [
        TextAPI(max_batch_size=TEXT_BATCH, batch_timeout=TEXT_WAIT_S, api_path="/v1/embed/text"),
        VideoAPI(max_batch_size=VIDEO_BATCH, batch_timeout=VIDEO_WAIT_S, api_path="/v1/embed/video"),
    ]
    server = ls.LitServer(apis, accelerator="cpu", workers_per_device=1, timeout=120,
                          healthcheck_path="/readyz")  # fmt: skip
    server.run(
        host="127.0.0.1",
        port=int(os.environ.get("PEER_PORT", "8200")),
        generate_client_file=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
