"""Manifests of real video-text corpora: JSONL or CSV rows of `video`, `caption`, `source`, `weight`.

`video` is a local path (relative paths are read from the manifest's folder) or an http(s) URL; `source`
names the corpus a row belongs to (default "default") and `weight` its share when sources are mixed
(default 1.0; a source's weight is the sum over its rows unless the trainer overrides it).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SOURCE = "default"


@dataclass(frozen=True)
class ManifestRow:
    video: str  # absolute local path or URL
    caption: str
    source: str = DEFAULT_SOURCE
    weight: float = 1.0

    @property
    def is_url(self) -> bool:
        return self.video.startswith(("http://", "https://"))


class ManifestError(ValueError):
    """A manifest row is missing a field or has a bad value; the message names the file and line."""


def read_manifest(path: Path) -> list[ManifestRow]:
    """All rows of a `.jsonl` or `.csv` manifest (CSV needs a header with at least `video,caption`)."""
    if path.suffix == ".jsonl":
        records = _jsonl_records(path)
    elif path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            records = [(line, dict(row)) for line, row in enumerate(csv.DictReader(handle), start=2)]
    else:
        raise ManifestError(f"{path}: unknown manifest type {path.suffix!r} (want .jsonl or .csv)")
    return [_row(record, path, line) for line, record in records]


def _jsonl_records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    records = []
    with path.open(encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ManifestError(f"{path}:{line}: not JSON: {exc}") from exc
            if not isinstance(record, dict):
                raise ManifestError(f"{path}:{line}: a row must be a JSON object")
            records.append((line, record))
    return records


def _row(record: dict[str, Any], path: Path, line: int) -> ManifestRow:
    where = f"{path}:{line}"
    video, caption = record.get("video"), record.get("caption")
    if not isinstance(video, str) or not video:
        raise ManifestError(f"{where}: missing 'video'")
    if not isinstance(caption, str):
        raise ManifestError(f"{where}: missing 'caption'")
    source = record.get("source") or DEFAULT_SOURCE
    try:
        weight = float(record.get("weight") or 1.0)
    except (TypeError, ValueError) as exc:
        raise ManifestError(f"{where}: bad weight {record.get('weight')!r}") from exc
    if weight <= 0:
        raise ManifestError(f"{where}: weight must be positive, got {weight}")
    if not video.startswith(("http://", "https://")):
        video = str((path.parent / video).resolve())
    return ManifestRow(video=video, caption=caption, source=str(source), weight=weight)
