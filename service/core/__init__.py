"""The inference core: engines, dynamic batching, cache and metrics hooks, behind `InferenceCore`.

Pure Python + asyncio; no FastAPI, gRPC or torch. See docs/inference-core.md.
"""

from service.core.cache.embedding_cache import EmbeddingCache
from service.core.cache.factory import build_cache
from service.core.inference_core import InferenceCore
from service.core.media_port import ClipRequest, MediaPort
from service.core.metrics import CoreMetrics, NullMetrics, PrometheusMetrics
from service.core.settings import BatcherSettings, CacheSettings, CoreSettings, RuntimeSettings
from service.core.types import (
    Deadline,
    DecodedFrames,
    EncoderInfo,
    ImageBytes,
    ImageUrl,
    ModelInfo,
    SegmentEmbedding,
    TextEmbeddingResult,
    VideoBytes,
    VideoEmbeddingResult,
    VideoItem,
    VideoOptions,
    VideoUrl,
)

__all__ = [
    "BatcherSettings",
    "CacheSettings",
    "ClipRequest",
    "CoreMetrics",
    "CoreSettings",
    "Deadline",
    "DecodedFrames",
    "EmbeddingCache",
    "EncoderInfo",
    "ImageBytes",
    "ImageUrl",
    "InferenceCore",
    "MediaPort",
    "ModelInfo",
    "NullMetrics",
    "PrometheusMetrics",
    "RuntimeSettings",
    "SegmentEmbedding",
    "TextEmbeddingResult",
    "VideoBytes",
    "VideoEmbeddingResult",
    "VideoItem",
    "VideoOptions",
    "VideoUrl",
    "build_cache",
]
