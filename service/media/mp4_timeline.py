"""Packet timestamps of one MP4 track exactly as ffmpeg's mov demuxer produces them.

Mirrors libavformat/mov.c: `mov_build_index` (dts from stts, shifted by the largest negative ctts offset;
keyframes from stss), `mov_fix_index` for an edit list of one media edit after at most one empty edit
(frames from the keyframe before the edit's media time; frames outside the edit flagged DISCARD; the index
stops at the first keyframe after the edit, the second when there is ctts; dts re-based so the first pts
is the empty edit's length), and `mov_read_packet` plus libavformat's duration fill-in (with ctts ffmpeg
leaves the duration to the frame rate, which the mov demuxer sets from stts only when stts is constant).
Anything outside that model raises LayoutError.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from service.media.bmff_boxes import LayoutError
from service.media.mp4_tables import TrackTables

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

_CTTS_LIMIT = 1 << 28  # ffmpeg drops a ctts table with offsets this large
_MAX_SAMPLE_BYTES = 0x3FFFFFFF  # ffmpeg stops indexing at a larger sample


@dataclass(frozen=True)
class Packets:
    """The track's packets in demux order, in track timescale units (before ffmpeg's start-time shift)."""

    dts: I64
    pts: I64
    duration: I64
    key: Mask
    discard: Mask
    start_time: int  # AVStream.start_time
    end_byte: int  # one past the last byte of any sample of the track
    offset: I64  # file offset of each packet's data
    size: I64


def rescale(a: int, b: int, c: int) -> int:
    """av_rescale(a, b, c): a * b / c rounded to nearest, halves away from zero."""
    if a < 0:
        return -rescale(-a, b, c)
    return (a * b + c // 2) // c


def track_packets(t: TrackTables, movie_timescale: int) -> Packets:
    """The packets ffmpeg demuxes from `t`; raises LayoutError where its behaviour is not modelled."""
    n = t.sample_count
    if n == 0:
        raise LayoutError("no samples")
    deltas = _per_sample(t.stts[0], t.stts[1], n, "stts").astype(np.int64)
    if n > 1 and int(deltas[:-1].min()) <= 0:
        raise LayoutError("zero sample duration")  # equal dts: ffmpeg's muxing would rewrite them
    ctts, shift = _ctts(t, n)
    dts = np.zeros(n, dtype=np.int64)
    np.cumsum(deltas[:-1], out=dts[1:])
    dts -= shift
    key = _keyframes(t.sync, n)
    offsets, sizes = _sample_bytes(t, n)
    if int(sizes.min()) == 0:
        raise LayoutError("an empty sample")  # ffmpeg's parsers drop empty packets
    stts_simple = len(t.stts[0]) == 1 or (len(t.stts[0]) == 2 and int(t.stts[0][1]) == 1)
    fps_duration = int(t.stts[1][0]) if stts_simple else None
    st_duration = min(t.media_duration, int(deltas.sum())) if int(deltas.sum()) else t.media_duration
    first, last = 0, n - 1
    if t.edits is None:
        discard, start_time = np.zeros(n, dtype=bool), int(ctts[0])
    else:
        empty, media_time, edit_duration = _single_edit(t, movie_timescale)
        first, last = _edit_span(dts, ctts, key, shift, media_time, edit_duration, t.ctts is not None)
        window = slice(first, last + 1)
        cts = dts[window] + shift + ctts[window]
        discard = (cts < media_time) | (cts >= media_time + edit_duration)
        kept = np.flatnonzero(~discard)
        if len(kept) == 0:
            raise LayoutError("the edit keeps no frame")
        base = dts[first + int(kept[0])]
        dts = dts[window] - base + (-shift + empty)
        corrected = dts[kept] + ctts[window][kept] + shift
        if int(corrected.min()) < 0:
            raise LayoutError("negative corrected pts")
        min_corrected = int(corrected.min()) - empty
        if min_corrected > 0:
            dts -= min_corrected
        ctts, key = ctts[window], key[window]
        start_time = empty
        st_duration = min(st_duration, empty + edit_duration)
    pts = dts + shift + ctts if t.ctts is not None else dts.copy()
    if not bool(key[0]):
        raise LayoutError("the first packet is not a keyframe")  # ffmpeg's stream copy would drop it
    if bool((pts < dts).any()):
        raise LayoutError("pts before dts")
    duration = _durations(dts, st_duration, fps_duration, t.ctts is not None)
    # ffmpeg releases disagree where the rule above differs from the sample's own stts duration (5.1 takes
    # the edit's end for the last frame, 9.0 the stts entry): such a frame's duration is left unknown.
    duration[duration != deltas[first : last + 1]] = -1
    window_bytes = slice(first, last + 1)
    end_byte = int((offsets + sizes).max())
    return Packets(
        dts, pts, duration, key, discard, start_time, end_byte, offsets[window_bytes], sizes[window_bytes]
    )


def track_end_byte(t: TrackTables) -> int:
    """One past the last byte of any sample of `t` (0 without samples); ffmpeg reads every track while probing."""
    if t.sample_count == 0:
        return 0
    offsets, sizes = _sample_bytes(t, t.sample_count)
    return int((offsets + sizes).max())


def track_start(t: TrackTables, movie_timescale: int) -> int | None:
    """AVStream.start_time of any track (None: no packets, so none), without building its index."""
    if t.sample_count == 0:
        return None
    if t.edits is not None:
        empty = 0
        for edit in t.edits:
            if edit.media_time != -1:
                return empty
            empty += rescale(edit.duration, t.timescale, movie_timescale)
        raise LayoutError("an edit list of empty edits only")
    # Without an edit list, the first packet's pts: its ctts offset (dts starts at minus the ctts shift).
    return int(t.ctts[1][0]) if t.ctts is not None and len(t.ctts[1]) else 0


def _per_sample(counts: npt.NDArray[np.uint32], values: npt.NDArray[np.generic], n: int, name: str) -> I64:
    if int(counts.astype(np.int64).sum()) != n or (len(counts) and int(counts.max()) >= 2**31):
        raise LayoutError(f"{name} does not cover the samples exactly")
    if len(counts) and int(counts.min()) == 0:
        raise LayoutError(f"{name} entry of zero samples")
    if name == "stts" and len(values) and int(values.max()) >= 2**31:
        raise LayoutError("stts duration out of range")
    return np.repeat(values.astype(np.int64), counts.astype(np.int64))


def _ctts(t: TrackTables, n: int) -> tuple[I64, int]:
    if t.ctts is None:
        return np.zeros(n, dtype=np.int64), 0
    counts, offsets = t.ctts
    wide = offsets.astype(np.int64)
    if len(wide) and int(np.abs(wide).max()) >= _CTTS_LIMIT:
        raise LayoutError("ctts offsets out of range")
    # ffmpeg derives the dts shift from every entry but the last two.
    counted = wide[: max(len(wide) - 2, 0)]
    shift = max(0, -int(counted.min())) if len(counted) else 0
    return _per_sample(counts, wide, n, "ctts"), shift


def _keyframes(sync: npt.NDArray[np.uint32] | None, n: int) -> Mask:
    if sync is None:
        return np.ones(n, dtype=bool)
    numbers = sync.astype(np.int64)
    if len(numbers) > 1 and int(np.diff(numbers).min()) <= 0:
        raise LayoutError("stss not increasing")  # ffmpeg's one-pass matching would stall
    key_off = 1 if numbers[0] > 0 else 0  # a zero first entry means the table counts from 0
    positions = numbers - key_off
    key = np.zeros(n, dtype=bool)
    key[positions[positions < n]] = True
    return key


def _sample_bytes(t: TrackTables, n: int) -> tuple[I64, I64]:
    """(file offset, size) of every sample, from the chunk offsets and the sample-to-chunk table."""
    table = t.stsc.astype(np.int64)
    chunks = len(t.chunk_offsets)
    if chunks > n:
        raise LayoutError("more chunks than samples")  # every chunk holds a sample; also bounds the arrays
    if len(table) == 0 or chunks == 0 or int(table[0, 0]) != 1:
        raise LayoutError("stsc does not start at chunk 1")
    firsts, per_chunk, descs = table[:, 0], table[:, 1], table[:, 2]
    if bool((np.diff(firsts) <= 0).any()) or int(firsts[-1]) > chunks:
        raise LayoutError("stsc chunks out of order")
    if int(per_chunk.min()) < 1 or bool((descs != 1).any()):
        raise LayoutError("unusable stsc entry")
    runs = np.diff(np.append(firsts, chunks + 1))
    samples_per_chunk = np.repeat(per_chunk, runs)
    if int(samples_per_chunk.sum()) != n:
        raise LayoutError("stsc and stsz disagree on the sample count")
    sizes = np.full(n, t.constant_size, dtype=np.int64) if t.sizes is None else t.sizes.astype(np.int64)
    if int(sizes.max()) > _MAX_SAMPLE_BYTES:
        raise LayoutError("sample too large")
    chunk_of = np.repeat(np.arange(chunks), samples_per_chunk)
    before = np.cumsum(sizes) - sizes  # bytes of all earlier samples
    chunk_first = np.cumsum(samples_per_chunk) - samples_per_chunk
    offsets = t.chunk_offsets.astype(np.int64)[chunk_of] + before - before[chunk_first][chunk_of]
    return offsets, sizes


def _single_edit(t: TrackTables, movie_timescale: int) -> tuple[int, int, int]:
    """(empty edit length, media time, edit length) in track units for [empty edit,] one media edit."""
    assert t.edits is not None
    edits = list(t.edits)
    empty = 0
    if len(edits) == 2 and edits[0].media_time == -1:
        empty = rescale(edits.pop(0).duration, t.timescale, movie_timescale)
    if len(edits) != 1 or edits[0].media_time < 0:
        raise LayoutError("an edit list other than [empty edit,] one media edit")
    duration = rescale(edits[0].duration, t.timescale, movie_timescale)
    if duration <= 0:
        raise LayoutError("an edit of zero length")
    return empty, edits[0].media_time, duration


def _edit_span(
    dts: I64, ctts: I64, key: Mask, shift: int, media_time: int, duration: int, has_ctts: bool
) -> tuple[int, int]:
    """[first, last] sample kept in ffmpeg's index: from the keyframe before the edit to the stop rule."""
    n = len(dts)
    target = media_time - shift
    first = _key_before(dts, ctts, key, target, has_ctts, any_frame=False)
    if first < 0:
        first = max(_key_before(dts, ctts, key, target, has_ctts, any_frame=True), 0)
    frame_duration = np.append(np.diff(dts[first:]), duration)
    cts = dts[first:] + shift + ctts[first:]
    stops = np.flatnonzero((cts + frame_duration >= media_time + duration) & key[first:])
    # With ctts ffmpeg waits for a second keyframe: B-frames after the first may still belong to the edit.
    needed = 2 if has_ctts else 1
    last = first + int(stops[needed - 1]) if len(stops) >= needed else n - 1
    return first, last


def _key_before(dts: I64, ctts: I64, key: Mask, target: int, has_ctts: bool, *, any_frame: bool) -> int:
    """find_prev_closest_index: the keyframe (any frame) with dts <= target, refined by pts with ctts."""
    eligible = dts <= target
    candidates = np.flatnonzero(eligible if any_frame else eligible & key)
    index = int(candidates[-1]) if len(candidates) else -1
    if has_ctts and index >= 0:
        # The refinement walks back to a keyframe shown no later than the target, whatever `any_frame` says.
        good = np.flatnonzero((dts[: index + 1] + ctts[: index + 1] <= target) & key[: index + 1])
        index = int(good[-1]) if len(good) else -1
    return index


def _durations(dts: I64, st_duration: int, fps_duration: int | None, has_ctts: bool) -> I64:
    """Packet durations, -1 where ffmpeg would guess one from a frame rate estimate this reader cannot repeat.

    Without ctts: the next packet's dts (the stream duration after the last) minus dts; with ctts, or where
    that is not positive: one frame at the stts frame rate, known only when stts is constant.
    """
    fill = -1 if fps_duration is None else fps_duration
    if has_ctts:
        return np.full(len(dts), fill, dtype=np.int64)
    duration = np.diff(np.append(dts, st_duration))
    return np.where(duration > 0, duration, fill)
