"""MP4/MOV layouts made with ffmpeg's lavfi sources, for comparing the in-process index with the ffmpeg probe."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

from tests.media.videos import ffmpeg

CLIP = ("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=4")
TONE = ("-f", "lavfi", "-i", "sine=duration=4")
X264 = ("-c:v", "libx264")
# 10 frames at 10 fps, then 40 at 50 fps.
VFR = ("-f", "lavfi", "-i", "testsrc2=s=64x48:r=50:d=1",
       "-vf", "setpts='if(lt(N,10),N*0.1/TB,(1+(N-10)*0.02)/TB)'", "-fps_mode", "vfr")  # fmt: skip


def _encode(*args: str) -> Callable[[Path, Callable[[str], Path]], None]:
    return lambda out, _get: ffmpeg(*args, str(out))


def _copy(source: str, *args: str) -> Callable[[Path, Callable[[str], Path]], None]:
    # Stream copies keep the source's packets; an input seek leaves an edit list that starts mid-GOP.
    return lambda out, get: ffmpeg(*args[:2], "-i", str(get(source)), *args[2:], "-c", "copy", str(out))


def _retimed(source: str) -> Callable[[Path, Callable[[str], Path]], None]:
    # The SPS now claims 30 fps (60 ticks per second) while the tables still say 25.
    return lambda out, get: ffmpeg(
        "-i", str(get(source)), "-c", "copy", "-bsf:v", "h264_metadata=tick_rate=60", str(out)
    )


# name -> (file name, builder); the builder may ask for other layouts by name.
LAYOUTS: dict[str, tuple[str, Callable[[Path, Callable[[str], Path]], None]]] = {
    # libx264's default B-frames: ctts and an edit list whose media time skips the B-frame delay.
    "x264_bframes": ("bframes.mp4", _encode(*CLIP, *X264, "-g", "25")),
    "x264_no_bframes": ("bf0.mp4", _encode(*CLIP, *X264, "-bf", "0", "-g", "25")),
    # Keyframes that are not IDR frames: I-frames with a recovery point SEI (open GOP, intra refresh).
    "x264_open_gop": ("open_gop.mp4", _encode(*CLIP, *X264, "-x264-params", "open-gop=1:keyint=30")),
    "x264_intra_refresh": ("intra_refresh.mp4", _encode(*CLIP, *X264, "-x264-params", "intra-refresh=1:keyint=25")),
    "retimed_no_bframes": ("retimed_bf0.mp4", _retimed("x264_no_bframes")),
    "mpeg4": ("mpeg4.mp4", _encode(*CLIP, "-c:v", "mpeg4")),
    "mpeg4_bframes": ("mpeg4_bf.mp4", _encode(*CLIP, "-c:v", "mpeg4", "-bf", "2")),
    "mov": ("clip.mov", _encode(*CLIP, *X264)),
    "mov_timecode": ("timecode.mov", _encode(*CLIP, *X264, "-timecode", "01:00:00:00")),
    "hevc": ("hevc.mp4", _encode(*CLIP, "-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1")),
    "vfr_no_bframes": ("vfr.mp4", _encode(*VFR, *X264, "-bf", "0")),
    "vfr_mov": ("vfr.mov", _encode(*VFR, *X264, "-bf", "0")),
    "faststart": ("faststart.mp4", _encode(*CLIP, *X264, "-movflags", "+faststart")),
    "audio_first": ("audio_first.mp4", _encode(*CLIP, *TONE, "-map", "1:a", "-map", "0:v", *X264, "-c:a", "aac")),
    "no_edit_list": ("no_elst.mp4", _encode(*CLIP, *X264, "-use_editlist", "0")),
    "no_edit_list_audio": ("no_elst_audio.mp4", _encode(*CLIP, *TONE, *X264, "-c:a", "aac", "-use_editlist", "0")),
    # A first pts of 0.5 s: an empty edit, which ffmpeg's start-time shift removes unless audio starts at 0.
    "empty_edit": ("empty_edit.mp4", _encode(*CLIP, "-vf", "setpts=PTS+0.5/TB", *X264)),
    "empty_edit_audio": ("empty_edit_audio.mp4", _encode(*CLIP, *TONE, "-vf", "setpts=PTS+0.5/TB", *X264, "-c:a", "aac")),
    "cut_mid_gop": ("cut.mp4", _copy("x264_bframes", "-ss", "1.3")),
    "cut_mid_gop_audio": ("cut_audio.mp4", _copy("audio_first", "-ss", "1.3")),
    "cut_and_trimmed": ("cut_trim.mp4", _copy("x264_bframes", "-ss", "0.7", "-t", "2.3")),
    # 10 minutes at 25 fps (15 000 frames): tiny frames encode in seconds.
    "ten_minutes": ("ten_minutes.mp4", _encode("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25:duration=600",
                                                *X264, "-preset", "veryfast", "-g", "250")),
    # Layouts the index must leave to ffmpeg.
    "fragmented": ("fragmented.mp4", _encode(*CLIP, *X264, "-movflags", "frag_keyframe+empty_moov")),
    "two_video_tracks": ("two_video.mp4", _encode(*CLIP, "-f", "lavfi", "-i", "testsrc=size=32x32:rate=10:duration=4",
                                                  "-map", "0", "-map", "1", *X264)),
    "vfr_bframes": ("vfr_bf.mp4", _encode(*VFR, *X264)),
    "retimed_bframes": ("retimed_bf.mp4", _retimed("x264_bframes")),
    "vp9": ("vp9.mp4", _encode(*CLIP, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8")),
    "mjpeg_mov": ("mjpeg.mov", _encode(*CLIP, "-c:v", "mjpeg")),
}  # fmt: skip


class LayoutFactory:
    """Builds each layout once per test session, on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: dict[str, Path] = {}

    def get(self, name: str) -> Path:
        if name not in self._made:
            filename, build = LAYOUTS[name]
            path = self.root / filename
            build(path, self.get)
            self._made[name] = path
        return self._made[name]


def find_box(data: bytes, path: list[bytes]) -> tuple[int, int]:
    """(header offset, size) of the box at `path` (e.g. [b"moov", b"trak"]), first match at each level."""
    start, end, found = 0, len(data), (0, 0)
    for kind in path:
        pos = start
        while pos + 8 <= end:
            size, box = struct.unpack_from(">I4s", data, pos)
            if box == kind:
                found = (pos, size)
                start, end = pos + 8, pos + size
                break
            pos += size
        else:
            raise KeyError(kind)
    return found
