"""The bundle's encoders behind two batch functions, shared by both peers so they differ only in serving."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from service.settings import DEMO_BUNDLE
from service.text import TextTokenizer

F32 = npt.NDArray[np.float32]


def _session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Same as the service: no spinning, so an idle session does not steal the shared core.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _normalize(x: F32) -> F32:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class BundleModel:
    def __init__(self, bundle: Path | None = None, threads: int | None = None) -> None:
        bundle = bundle or Path(os.environ.get("PEER_BUNDLE", str(DEMO_BUNDLE)))
        threads = threads or int(os.environ.get("PEER_INTRA_OP_THREADS", "1"))
        manifest = json.loads((bundle / "manifest.json").read_text())
        self.num_frames = int(manifest["video"]["num_frames"])
        self.image_size = int(manifest["video"]["image_size"])
        low, high = manifest["video"]["value_range"]
        self._scale, self._low = (high - low) / 255.0, low
        self.video = _session(bundle / manifest["video_encoder"]["file"], threads)
        # A video-only bundle (a full-size `base`) has no text tower: its peers serve frames only.
        text = manifest.get("text")
        self.tokenizer: TextTokenizer | None = None
        self.text: ort.InferenceSession | None = None
        if text is not None:
            self.tokenizer = TextTokenizer(
                bundle / text["tokenizer_file"],
                max_length=int(text["max_length"]),
                canonicalize=bool(text["canonicalize"]),
                pad_id=int(text["pad_id"]),
            )
            self.text = _session(bundle / manifest["text_encoder"]["file"], threads)

    def embed_texts(self, texts: list[str]) -> F32:
        if self.tokenizer is None or self.text is None:
            raise ValueError("this bundle has no text encoder")
        batch = self.tokenizer.encode_batch(texts)
        (out,) = self.text.run(None, {"input_ids": batch.ids, "paddings": batch.paddings})
        return _normalize(np.asarray(out, dtype=np.float32))

    def frames_from_json(self, item: dict[str, Any]) -> npt.NDArray[np.uint8]:
        frames = item["frames"]
        shape = tuple(int(x) for x in frames["shape"])
        expected = (self.num_frames, self.image_size, self.image_size, 3)
        if shape != expected:
            raise ValueError(f"frames shape {shape} != {expected}")
        return np.frombuffer(base64.b64decode(frames["data"]), dtype=np.uint8).reshape(shape)

    def embed_frames(self, clips: list[npt.NDArray[np.uint8]]) -> F32:
        x = np.stack(clips).astype(np.float32) * self._scale + self._low
        (out,) = self.video.run(None, {"frames": x})
        return _normalize(np.asarray(out, dtype=np.float32))


def text_response(vector: F32) -> dict[str, Any]:
    return {"data": [{"index": 0, "embedding": vector.tolist()}]}
