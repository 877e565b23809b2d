"""Bounded ISO-BMFF box walking: top-level box headers by seeking, then the `moov` box alone into memory.

Nothing here trusts a size field: every box must fit inside its parent and the file, counts are capped,
and any surprise raises `LayoutError`, which the MP4 index turns into "ask ffmpeg instead".
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

# Boxes a plain MP4/MOV may open with; anything else may be another container that ffmpeg would probe.
_FIRST_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide"})
# Top-level boxes that mean a layout this reader does not model: fragments, fragment index, HEIF items.
_REFUSED_TOP = frozenset({b"moof", b"mfra", b"sidx", b"meta", b"styp"})
MAX_TOP_LEVEL_BOXES = 4096
MAX_CHILD_BOXES = 100_000


class LayoutError(Exception):
    """The file is not a layout the in-process index reads exactly; the ffmpeg probe decides instead."""


@dataclass(frozen=True)
class Box:
    """One box: its four-character type and its payload as [start, end) offsets into the buffer it came from."""

    type: bytes
    start: int
    end: int


def read_moov(f: BinaryIO, file_size: int, max_moov_bytes: int) -> bytes:
    """The payload of the file's single top-level `moov` box; raises LayoutError for anything else."""
    moov: tuple[int, int] | None = None
    pos = 0
    for count in range(MAX_TOP_LEVEL_BOXES + 1):
        if pos == file_size:
            break
        if count == MAX_TOP_LEVEL_BOXES:
            raise LayoutError("too many top-level boxes")
        f.seek(pos)
        box = _header(f.read(16), 0, file_size - pos, to_end_ok=True)
        if count == 0 and box.type not in _FIRST_BOXES:
            raise LayoutError("not an ISO-BMFF file")
        if box.type in _REFUSED_TOP:
            raise LayoutError(f"top-level {box.type!r} box")
        if box.type == b"moov":
            if moov is not None:
                raise LayoutError("more than one moov box")
            moov = (pos + box.start, pos + box.end)
        pos += box.end
    if moov is None:
        raise LayoutError("no moov box")
    start, end = moov
    if end - start > max_moov_bytes:
        raise LayoutError("moov box above the cap")
    f.seek(start)
    data = f.read(end - start)
    if len(data) != end - start:
        raise LayoutError("moov box cut short")
    return data


def iter_boxes(data: bytes, start: int, end: int) -> Iterator[Box]:
    """The boxes laid end to end in data[start:end], which they must fill exactly."""
    pos = start
    for _ in range(MAX_CHILD_BOXES):
        if pos == end:
            return
        box = _header(data, pos, end - pos, to_end_ok=True)
        yield box
        pos = box.end
    raise LayoutError("too many boxes")


def children(data: bytes, parent: Box) -> dict[bytes, list[Box]]:
    """Direct children of `parent`, grouped by type in file order."""
    found: dict[bytes, list[Box]] = {}
    for box in iter_boxes(data, parent.start, parent.end):
        found.setdefault(box.type, []).append(box)
    return found


def one(kids: dict[bytes, list[Box]], kind: bytes) -> Box | None:
    """The only child of type `kind`, or None; two of them are ambiguous and refused."""
    boxes = kids.get(kind, [])
    if len(boxes) > 1:
        raise LayoutError(f"repeated {kind!r} box")
    return boxes[0] if boxes else None


def _header(data: bytes, pos: int, room: int, *, to_end_ok: bool) -> Box:
    """The box whose header starts at data[pos], with at most `room` bytes to its parent's end."""
    if room < 8 or len(data) < pos + 8:
        raise LayoutError("box header cut short")
    size, kind = struct.unpack_from(">I4s", data, pos)
    header = 8
    if size == 1:
        if room < 16 or len(data) < pos + 16:
            raise LayoutError("large box header cut short")
        (size,) = struct.unpack_from(">Q", data, pos + 8)
        header = 16
    elif size == 0 and to_end_ok:
        size = room  # "extends to the end of its parent"
    if size < header or size > room:
        raise LayoutError(f"{kind!r} box size {size} does not fit")
    return Box(kind, pos + header, pos + size)
