from __future__ import annotations

import asyncio

import numpy as np
import pytest

from service.core.cache.circuit_breaker import CircuitBreaker
from service.core.cache.codec import EmbeddingRecord, RecordRejected
from service.core.cache.keys import (
    SamplingKey,
    model_cache_version,
    preprocessing_fingerprint,
    text_cache_key,
    video_cache_key,
)
from service.core.cache.memory_backend import MemoryLruBackend
from videoprism_bundle.loader import Bundle

BUNDLE = "0123456789abcdef"


def _record(rows: int = 2, dim: int = 8) -> EmbeddingRecord:
    rng = np.random.default_rng(rows)
    return EmbeddingRecord(
        vectors=rng.standard_normal((rows, dim)).astype(np.float32),
        spans=np.arange(rows * 2, dtype=np.float64).reshape(rows, 2),
    )


def test_codec_round_trip() -> None:
    record = _record()
    decoded = EmbeddingRecord.decode(record.encode(BUNDLE), bundle_id=BUNDLE, dim=8)
    np.testing.assert_array_equal(decoded.vectors, record.vectors)
    np.testing.assert_array_equal(decoded.spans, record.spans)


@pytest.mark.parametrize(
    ("mutate", "bundle", "dim"),
    [
        (lambda b: b[:-1], BUNDLE, 8),  # truncated
        (lambda b: b + b"x", BUNDLE, 8),  # trailing junk
        (lambda b: b"XXXX" + b[4:], BUNDLE, 8),  # bad magic
        (lambda b: b, "fedcba9876543210", 8),  # another bundle
        (lambda b: b, BUNDLE, 16),  # another dim
        (lambda b: b[:10], BUNDLE, 8),  # shorter than a header
        (lambda b: b[:-4] + np.array([np.nan], dtype="<f4").tobytes(), BUNDLE, 8),  # NaN
    ],
)
def test_codec_rejects_anything_off(mutate, bundle: str, dim: int) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RecordRejected):
        EmbeddingRecord.decode(mutate(_record().encode(BUNDLE)), bundle_id=bundle, dim=dim)


def test_keys_change_with_every_parameter() -> None:
    base = SamplingKey(16, 288, "crop", None, None, None)
    variants = [
        base,
        SamplingKey(8, 288, "crop", None, None, None),
        SamplingKey(16, 256, "crop", None, None, None),
        SamplingKey(16, 288, "squash", None, None, None),
        SamplingKey(16, 288, "crop", 1.0, None, None),
        SamplingKey(16, 288, "crop", None, 2.0, None),
        SamplingKey(16, 288, "crop", None, None, 4.0),
    ]
    keys = {video_cache_key("vp", "a" * 64, BUNDLE, "v1", s) for s in variants}
    keys |= {
        video_cache_key("vp", "b" * 64, BUNDLE, "v1", base),
        video_cache_key("vp", "a" * 64, "x" * 16, "v1", base),
    }
    keys.add(video_cache_key("vp", "a" * 64, BUNDLE, "v2", base))
    assert len(keys) == len(variants) + 3
    assert text_cache_key("vp", "a dog.", BUNDLE, "v1", 64) != text_cache_key(
        "vp", "a dog.", BUNDLE, "v1", 32
    )


async def test_memory_lru_respects_its_byte_budget_and_recency() -> None:
    cache = MemoryLruBackend(max_bytes=3 * (2 + 100))
    for key in ("k1", "k2", "k3"):
        await cache.set(key, b"x" * 100, None)
    assert await cache.get("k1") is not None  # k1 is now the most recent
    await cache.set("k4", b"x" * 100, None)
    assert await cache.get("k2") is None
    assert await cache.get("k1") is not None and await cache.get("k4") is not None
    assert cache.size_bytes <= cache.max_bytes
    await cache.set("huge", b"x" * 1000, None)
    assert await cache.get("huge") is None and len(cache) == 3


async def test_memory_lru_ttl() -> None:
    cache = MemoryLruBackend(max_bytes=10_000)
    await cache.set("k", b"v", 0.05)
    assert await cache.get("k") == b"v"
    await asyncio.sleep(0.08)
    assert await cache.get("k") is None and cache.size_bytes == 0


def test_circuit_breaker_opens_then_half_opens_then_closes() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=5.0, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 5.0
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.record_failure()
    assert breaker.state == "open"
    now[0] = 10.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow()


def test_model_cache_version_covers_every_preprocessing_field(tiny_bundle: Bundle) -> None:
    """Every field of the video/text specs and every file hash changes the version in the keys."""
    manifest = tiny_bundle.manifest
    base = model_cache_version(manifest)
    assert base == model_cache_version(manifest.model_copy())  # deterministic
    assert manifest.text is not None
    variants = [
        manifest.model_copy(update={"video": manifest.video.model_copy(update={"value_range": (-1.0, 1.0)})}),
        manifest.model_copy(update={"video": manifest.video.model_copy(update={"channels_last": False})}),
        manifest.model_copy(update={"text": manifest.text.model_copy(update={"canonicalize": False})}),
        manifest.model_copy(
            update={"files_sha256": {**manifest.files_sha256, "video_encoder.onnx": "0" * 64}}
        ),
        manifest.model_copy(update={"video_pooling": "token_mean"}),
    ]
    versions = {model_cache_version(v) for v in variants}
    assert base not in versions and len(versions) == len(variants)
    # A field added to a spec later counts without touching the key code: sections are hashed whole.
    files = manifest.files_sha256
    assert preprocessing_fingerprint({"video": {"a": 1}}, files) != preprocessing_fingerprint(
        {"video": {"a": 1, "new_field": 0}}, files
    )
    assert preprocessing_fingerprint({"video": {"a": 1, "b": 2}}, files) == preprocessing_fingerprint(
        {"video": {"b": 2, "a": 1}}, files
    )
