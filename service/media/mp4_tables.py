"""One `trak` box's sample tables, read from the in-memory `moov` payload into numpy views.

Tables are views on the moov bytes (`np.frombuffer`), so nothing grows past the capped moov size; every
declared entry count is checked against the bytes its box really holds. Layouts that ffmpeg's mov demuxer
treats specially (several sample descriptions, partial sync samples, random-access groups, external data
references, compact sample sizes) raise LayoutError.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from service.media.bmff_boxes import Box, LayoutError, children, iter_boxes, one

U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class EditEntry:
    duration: int  # movie timescale
    media_time: int  # track timescale; -1: an empty edit


@dataclass(frozen=True)
class TrackTables:
    """What the index needs from one track. Arrays are per table entry, not yet per sample."""

    handler: bytes
    fourcc: bytes
    sample_entry: bytes  # the first sample description's payload (fourcc box contents)
    timescale: int
    media_duration: int  # mdhd
    edits: tuple[EditEntry, ...] | None  # None: no edit list
    stts: tuple[U32, U32]  # (counts, deltas)
    ctts: tuple[U32, npt.NDArray[np.int32]] | None  # (counts, offsets)
    sync: U32 | None  # 1-based sample numbers; None: every sample is a keyframe
    sample_count: int
    sizes: U32 | None  # None: every sample is `constant_size` bytes
    constant_size: int
    stsc: npt.NDArray[np.uint32]  # [entries, 3]: first chunk, samples per chunk, description index
    chunk_offsets: npt.NDArray[np.uint64]
    chapter_ref: bool  # the track points at a chapter track (which ffmpeg turns into an attached picture)


def read_track(data: bytes, trak: Box) -> TrackTables:
    kids = children(data, trak)
    mdia = _need(kids, b"mdia")
    mdia_kids = children(data, mdia)
    minf_kids = children(data, _need(mdia_kids, b"minf"))
    stbl = children(data, _need(minf_kids, b"stbl"))
    for refused in (b"stps", b"stz2", b"cslg"):
        if refused in stbl:
            raise LayoutError(f"{refused!r} box")
    for group in stbl.get(b"sbgp", []):
        # ffmpeg marks random-access ("rap ") and open-GOP ("sync") groups as keyframes beyond stss.
        if _full(data, group, 8)[4:8] in (b"rap ", b"sync"):
            raise LayoutError("sample groups that add keyframes")
    timescale, media_duration = _mdhd(data, _need(mdia_kids, b"mdhd"))
    hdlr = _full(data, _need(mdia_kids, b"hdlr"), 12)
    _check_dref(data, minf_kids)
    fourcc, entry = _stsd(data, _need(stbl, b"stsd"))
    edts = one(kids, b"edts")
    tref = one(kids, b"tref")
    chapter_ref = tref is not None and b"chap" in children(data, tref)
    constant, count, sizes = _stsz(data, _need(stbl, b"stsz"))
    ctts_box = one(stbl, b"ctts")
    stss_box = one(stbl, b"stss")
    return TrackTables(
        handler=bytes(hdlr[8:12]),
        fourcc=fourcc,
        sample_entry=entry,
        timescale=timescale,
        media_duration=media_duration,
        edits=_elst(data, edts) if edts is not None else None,
        stts=_pairs(data, _need(stbl, b"stts")),
        ctts=_ctts(data, ctts_box) if ctts_box is not None else None,
        sync=_stss(data, stss_box) if stss_box is not None else None,
        sample_count=count,
        sizes=sizes,
        constant_size=constant,
        stsc=_table(data, _need(stbl, b"stsc"), 3),
        chunk_offsets=_chunk_offsets(data, stbl),
        chapter_ref=chapter_ref,
    )


def movie_timescale(data: bytes, mvhd: Box) -> int:
    """The `mvhd` timescale, the unit of edit-list durations."""
    payload = _full(data, mvhd, 24)
    offset = {0: 12, 1: 20}.get(payload[0])
    if offset is None or len(payload) < offset + 4:
        raise LayoutError("unusable mvhd")
    (timescale,) = struct.unpack_from(">I", payload, offset)
    if not 0 < timescale < 2**31:
        raise LayoutError("unusable mvhd timescale")
    return int(timescale)


def _need(kids: dict[bytes, list[Box]], kind: bytes) -> Box:
    box = one(kids, kind)
    if box is None:
        raise LayoutError(f"missing {kind!r} box")
    return box


def _full(data: bytes, box: Box, need: int) -> bytes:
    """The payload of a full box (version and flags included), which must hold at least `need` bytes."""
    if box.end - box.start < need:
        raise LayoutError(f"{box.type!r} box too short")
    return data[box.start : box.end]


def _mdhd(data: bytes, box: Box) -> tuple[int, int]:
    payload = _full(data, box, 24)
    if payload[0] == 1:
        payload = _full(data, box, 36)
        timescale, duration = struct.unpack_from(">IQ", payload, 20)
        unknown = 2**64 - 1
    elif payload[0] == 0:
        timescale, duration = struct.unpack_from(">II", payload, 12)
        unknown = 2**32 - 1
    else:
        raise LayoutError("mdhd version")
    if not 0 < timescale < 2**31 or duration == unknown:
        raise LayoutError("unusable mdhd")
    return int(timescale), int(duration)


def _check_dref(data: bytes, minf_kids: dict[bytes, list[Box]]) -> None:
    # A data reference that is not "this file" makes ffmpeg read samples from another file.
    dinf = one(minf_kids, b"dinf")
    dref = one(children(data, dinf), b"dref") if dinf is not None else None
    if dref is None:
        raise LayoutError("no data reference")
    _full(data, dref, 8)
    for entry in iter_entries(data, dref, 8):
        if entry.type not in (b"url ", b"alis") or entry.end - entry.start != 4:
            raise LayoutError("external data reference")
        if not data[entry.start + 3] & 1:
            raise LayoutError("external data reference")


def iter_entries(data: bytes, box: Box, skip: int) -> list[Box]:
    """The child boxes after `skip` payload bytes (version, flags, entry count), checked against the count."""
    (count,) = struct.unpack_from(">I", data, box.start + skip - 4)
    entries = list(iter_boxes(data, box.start + skip, box.end))
    if len(entries) != count:
        raise LayoutError(f"{box.type!r} entry count mismatch")
    return entries


def _stsd(data: bytes, box: Box) -> tuple[bytes, bytes]:
    _full(data, box, 8)
    entries = iter_entries(data, box, 8)
    if len(entries) != 1:
        raise LayoutError("not exactly one sample description")
    entry = entries[0]
    return entry.type, data[entry.start : entry.end]


def _elst(data: bytes, edts: Box) -> tuple[EditEntry, ...]:
    elst = _need(children(data, edts), b"elst")
    payload = _full(data, elst, 8)
    version = payload[0]
    (count,) = struct.unpack_from(">I", payload, 4)
    row = {0: 12, 1: 20}.get(version)
    if row is None or count == 0 or count > 16 or len(payload) < 8 + count * row:
        raise LayoutError("unusable elst")
    edits = []
    for i in range(count):
        if version == 1:
            duration, media_time, rate = struct.unpack_from(">QqI", payload, 8 + i * row)
        else:
            duration, media_time, rate = struct.unpack_from(">IiI", payload, 8 + i * row)
        if rate != 0x10000:
            raise LayoutError("edit with a media rate other than 1")
        edits.append(EditEntry(int(duration), int(media_time)))
    return tuple(edits)


def _table(data: bytes, box: Box, columns: int) -> npt.NDArray[np.uint32]:
    payload = _full(data, box, 8)
    (count,) = struct.unpack_from(">I", payload, 4)
    if len(payload) < 8 + count * 4 * columns:
        raise LayoutError(f"{box.type!r} table runs past its box")
    flat = np.frombuffer(data, dtype=">u4", count=count * columns, offset=box.start + 8)
    return flat.astype(np.uint32).reshape(count, columns)


def _pairs(data: bytes, box: Box) -> tuple[U32, U32]:
    table = _table(data, box, 2)
    return table[:, 0], table[:, 1]


def _ctts(data: bytes, box: Box) -> tuple[U32, npt.NDArray[np.int32]]:
    counts, raw = _pairs(data, box)
    return counts, raw.view(np.int32)  # offsets are signed in version 1 and read as signed by ffmpeg


def _stss(data: bytes, box: Box) -> U32:
    sync = _table(data, box, 1)[:, 0]
    if len(sync) == 0:
        raise LayoutError("empty stss")  # ffmpeg then parses the stream to find keyframes
    return sync


def _stsz(data: bytes, box: Box) -> tuple[int, int, U32 | None]:
    """(constant size, sample count, per-sample sizes or None when constant)."""
    payload = _full(data, box, 12)
    constant, count = struct.unpack_from(">II", payload, 4)
    if constant != 0:
        return int(constant), int(count), None
    if len(payload) < 12 + 4 * count:
        raise LayoutError("stsz table runs past its box")
    return (
        0,
        int(count),
        np.frombuffer(data, dtype=">u4", count=count, offset=box.start + 12).astype(np.uint32),
    )


def _chunk_offsets(data: bytes, stbl: dict[bytes, list[Box]]) -> npt.NDArray[np.uint64]:
    stco, co64 = one(stbl, b"stco"), one(stbl, b"co64")
    if (stco is None) == (co64 is None):
        raise LayoutError("need exactly one of stco and co64")
    if stco is not None:
        return _table(data, stco, 1)[:, 0].astype(np.uint64)
    assert co64 is not None
    payload = _full(data, co64, 8)
    (count,) = struct.unpack_from(">I", payload, 4)
    if len(payload) < 8 + 8 * count:
        raise LayoutError("co64 table runs past its box")
    return np.frombuffer(data, dtype=">u8", count=count, offset=co64.start + 8).astype(np.uint64)
