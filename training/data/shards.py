"""WebDataset-style tar shards read with the stdlib: members `key.mp4` (or another media type) plus
`key.txt` (the caption) or `key.json` (with a "caption" field), the members of one key next to each other.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

VIDEO_SUFFIXES = frozenset({".mp4", ".webm", ".mkv", ".avi", ".mov", ".gif"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})


@dataclass(frozen=True)
class ShardSample:
    key: str
    media: bytes
    media_suffix: str  # ".mp4", ".jpg", ...
    caption: str


def _split_member(name: str) -> tuple[str, str]:
    """WebDataset naming: the key is the path up to the first dot of the file name; the rest is the field."""
    posix = PurePosixPath(name)
    stem, _, extension = posix.name.partition(".")
    return str(posix.parent / stem), "." + extension.lower()


def iter_shard(path: Path) -> Iterator[ShardSample]:
    """Samples of one tar in stored order; keys without media or without caption are skipped."""
    with tarfile.open(path, mode="r|*") as archive:  # streaming: shards may be large
        key: str | None = None
        fields: dict[str, bytes] = {}
        for member in archive:
            if not member.isfile():
                continue
            member_key, suffix = _split_member(member.name)
            if member_key != key:
                sample = _sample(key, fields)
                if sample is not None:
                    yield sample
                key, fields = member_key, {}
            handle = archive.extractfile(member)
            if handle is not None:
                fields[suffix] = handle.read()
        sample = _sample(key, fields)
        if sample is not None:
            yield sample


def _sample(key: str | None, fields: dict[str, bytes]) -> ShardSample | None:
    if key is None:
        return None
    media_suffix = next((s for s in fields if s in VIDEO_SUFFIXES | IMAGE_SUFFIXES), None)
    caption: str | None = None
    if ".txt" in fields:
        caption = fields[".txt"].decode("utf-8").strip()
    elif ".json" in fields:
        value = json.loads(fields[".json"]).get("caption")
        caption = value if isinstance(value, str) else None
    if media_suffix is None or caption is None:
        return None
    return ShardSample(key=key, media=fields[media_suffix], media_suffix=media_suffix, caption=caption)
