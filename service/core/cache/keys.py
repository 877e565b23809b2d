"""Cache keys. Everything that changes the vector is in the key: the content hash, the bundle (id and
version) and every sampling parameter, so a new bundle or a different clip window never reads stale data."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class SamplingKey:
    num_frames: int
    image_size: int
    resize_mode: str
    start_s: float | None
    end_s: float | None
    segment_interval_s: float | None

    def canonical(self) -> str:
        def num(value: float | None) -> str:
            return "-" if value is None else f"{value:.6f}"

        return (
            f"t={self.num_frames};s={self.image_size};r={self.resize_mode};"
            f"a={num(self.start_s)};b={num(self.end_s)};g={num(self.segment_interval_s)}"
        )


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
