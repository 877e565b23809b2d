"""`manifest.json` of a model bundle: typed, versioned, validated on load.

A bundle directory holds ONNX files, an optional tokenizer file, optional TensorRT engines and this manifest.
`training.export` writes it; `videoprism_bundle.loader` reads it. Bump SCHEMA_VERSION on any breaking change.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TensorSpec(_Frozen):
    """One ONNX input or output. `shape` uses strings for dynamic axes (e.g. "batch")."""

    name: str
    dtype: Literal["float32", "float16", "int64", "int32"]
    shape: list[int | str]


class OnnxModelSpec(_Frozen):
    """One exported graph of the bundle."""

    file: str  # path relative to the bundle directory
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]


class TensorRTEngineSpec(_Frozen):
    """A serialized TensorRT engine built by `videoprism-train build-engine` for one GPU class."""

    file: str
    source: Literal["video_encoder", "text_encoder"]
    fp16: bool
    min_batch: int
    opt_batch: int
    max_batch: int
    timing_cache: str | None = None
    tensorrt_version: str
    gpu_name: str
    compute_capability: str


class VideoSpec(_Frozen):
    """How the service must turn a video into the encoder's input."""

    num_frames: int = Field(gt=0)
    image_size: int = Field(gt=0)  # square frames: image_size x image_size
    resize_mode: Literal["crop", "squash"] = "crop"  # crop: shorter side to image_size + center crop
    value_range: tuple[float, float] = (0.0, 1.0)  # RGB float range the encoder expects
    channels_last: bool = True


class TextSpec(_Frozen):
    """How the service must turn a string into token ids."""

    tokenizer: Literal["sentencepiece"] = "sentencepiece"
    tokenizer_file: str
    max_length: int = Field(gt=0)
    canonicalize: bool = True  # the official VideoPrism canonicalization (punctuation, lower-case, ".")
    pad_id: int = 0


class BundleManifest(_Frozen):
    schema_version: int
    model_name: str
    model_version: str
    embedding_dim: int = Field(gt=0)
    precision: Literal["fp32", "fp16", "int8"]
    opset: int
    video: VideoSpec
    text: TextSpec | None = None  # None: a video-only bundle
    video_encoder: OnnxModelSpec
    text_encoder: OnnxModelSpec | None = None
    tensorrt_engines: list[TensorRTEngineSpec] = Field(default_factory=list)
    # How the video encoder's [B, D] `embeddings` output is made. "attention_pooler": the video-text model's
    # learned pooler (a retrieval embedding, comparable with text). "token_mean": the L2-normalized mean of
    # the tokens, for video-only encoders that have no pooler (a clip descriptor, not comparable with text).
    video_pooling: Literal["attention_pooler", "token_mean"] = "attention_pooler"
    # Floating-point operations of the video encoder for one clip, in GFLOP (a multiply-add is 2): the server
    # chooses its parallelism from it (service/core/parallelism.py). None (older bundles): timed at start-up.
    video_gflops_per_clip: float | None = Field(default=None, gt=0)
    files_sha256: dict[str, str]  # every file of the bundle except the manifest, relative path -> sha256 hex
    source_checkpoint: str  # where the weights came from (path or id + its sha256), for provenance
    created_at: str  # ISO-8601 UTC

    @functools.cached_property
    def bundle_id(self) -> str:
        """A short, content-derived id: changes whenever any file of the bundle changes (computed once: every
        answer carries it)."""
        digest = hashlib.sha256()
        for name in sorted(self.files_sha256):
            digest.update(f"{name}={self.files_sha256[name]};".encode())
        return digest.hexdigest()[:16]
