"""Cache keys. Everything that changes the vector is in the key: the content hash, the bundle (id and
version) and every sampling parameter, so a new bundle or a different clip window never reads stale data."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from service.core.media_port import ClipRequest
from videoprism_bundle.manifest import BundleManifest

# Every field of the clip request changes the vector, so the request itself is the sampling part of a key.
SamplingKey = ClipRequest


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def video_cache_key(
    prefix: str, content_sha256: str, bundle_id: str, model_version: str, sampling: SamplingKey
) -> str:
    return f"{prefix}:v:{_digest(content_sha256, bundle_id, model_version, sampling.canonical())}"


def text_cache_key(
    prefix: str, normalized_text: str, bundle_id: str, model_version: str, max_length: int
) -> str:
    return f"{prefix}:t:{_digest(normalized_text, bundle_id, model_version, str(max_length))}"


def url_map_key(prefix: str, url: str) -> str:
    return f"{prefix}:u:{_digest(url)}"


def preprocessing_fingerprint(spec_sections: Mapping[str, object], files_sha256: Mapping[str, str]) -> str:
    """A canonical hash (sorted JSON) of the manifest's preprocessing sections and the model files' hashes.

    Hashing whole sections instead of listing fields means a field added to a spec later (a new resize
    option, a value range) changes every key by itself; listing fields is how `value_range` was missed."""
    canonical = json.dumps(
        {"specs": spec_sections, "files": dict(files_sha256)}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def model_cache_version(manifest: BundleManifest) -> str:
    """What the keys call the model version: the manifest's version plus everything that shapes a vector
    (video/text specs, pooling, precision, every file's sha256)."""
    sections = {
        "video": manifest.video.model_dump(mode="json"),
        "text": manifest.text.model_dump(mode="json") if manifest.text is not None else None,
        "video_pooling": manifest.video_pooling,
        "embedding_dim": manifest.embedding_dim,
        "precision": manifest.precision,
    }
    return f"{manifest.model_version}+{preprocessing_fingerprint(sections, manifest.files_sha256)}"
