"""Turns the command line's inputs (folders, globs, files, manifests, URLs) into `Source`s with stable ids.

Ids are what resume keys on, so they depend only on the input as written: the path relative to the folder
it was found in, the path as matched by a glob, a manifest's `id` column, or the URL itself.
"""

from __future__ import annotations

import csv
import glob
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".gif", ".ts"})
MANIFEST_SUFFIXES = frozenset({".jsonl", ".csv"})
_LOCATION_KEYS = ("url", "path", "video", "source")


@dataclass(frozen=True)
class Source:
    """One video to embed: `location` is an absolute local path or an http(s) URL."""

    id: str
    location: str

    @property
    def is_url(self) -> bool:
        return is_url(self.location)


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _folder(root: Path) -> Iterator[Source]:
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES):
        yield Source(id=path.relative_to(root).as_posix(), location=str(path.resolve()))


def _manifest_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix == ".csv":
            yield from csv.DictReader(handle)
            return
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: not JSON: {exc}") from None


def manifest(path: Path) -> Iterator[Source]:
    """A JSONL or CSV manifest with one of the columns url/path/video/source and an optional `id`.
    Relative paths are relative to the manifest's own folder, so a manifest travels with its videos."""
    for number, row in enumerate(_manifest_rows(path), start=1):
        location = next((str(row[k]) for k in _LOCATION_KEYS if row.get(k)), None)
        if location is None:
            raise ValueError(f"{path}: row {number} has none of the columns {', '.join(_LOCATION_KEYS)}")
        item_id = str(row.get("id") or location)
        if not is_url(location):
            location = str((path.parent / location).resolve())
        yield Source(id=item_id, location=location)


def url_list(path: Path) -> Iterator[Source]:
    """One URL (or path) a line; blank lines and `#` comments are skipped."""
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            yield Source(id=text, location=text if is_url(text) else str(Path(text).resolve()))


def expand(inputs: Iterable[str], url_lists: Iterable[str] = ()) -> list[Source]:
    """Every input, in order, without duplicate ids (the first occurrence wins)."""
    found: list[Source] = []
    for text in inputs:
        path = Path(text)
        if is_url(text):
            found.append(Source(id=text, location=text))
        elif path.is_dir():
            found.extend(_folder(path))
        elif path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
            found.extend(manifest(path))
        elif path.is_file():
            found.append(Source(id=text, location=str(path.resolve())))
        else:
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise ValueError(f"{text}: no such file, folder, manifest or URL, and no glob match")
            found.extend(Source(id=m, location=str(Path(m).resolve())) for m in matches if Path(m).is_file())
    for list_file in url_lists:
        found.extend(url_list(Path(list_file)))
    unique: dict[str, Source] = {}
    for source in found:
        unique.setdefault(source.id, source)
    return list(unique.values())
