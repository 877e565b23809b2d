"""Generate small real media files with ffmpeg's lavfi sources (and a few crafted broken ones)."""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
SRC = "testsrc2=size=64x48:rate=10:duration=1"


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", *args], check=True, timeout=60)


def _h264(out: Path) -> None:
    ffmpeg("-f", "lavfi", "-i", SRC, "-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out))  # fmt: skip


def _faststart(out: Path) -> None:
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=2", "-c:v", "libx264",
           "-g", "5", "-movflags", "+faststart", str(out))  # fmt: skip


def _vp9(out: Path) -> None:
    ffmpeg(
        "-f", "lavfi", "-i", SRC, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", str(out)
    )


def _avi(out: Path) -> None:
    ffmpeg("-f", "lavfi", "-i", SRC, "-c:v", "mpeg4", str(out))


def _gif(out: Path) -> None:
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=1", str(out))


def _odd(out: Path) -> None:
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=63x47:rate=10:duration=1", "-c:v", "libx264",
           "-pix_fmt", "yuv444p", str(out))  # fmt: skip


def _rotated(out: Path) -> None:
    # Left half white, right half black; stored upright plus a 90-degree display matrix.
    plain = out.with_suffix(".plain.mp4")
    ffmpeg("-f", "lavfi", "-i", "color=white:s=64x48:d=0.5,drawbox=x=32:y=0:w=32:h=48:color=black:t=fill",
           "-c:v", "libx264", str(plain))  # fmt: skip
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(out))
    plain.unlink()


def _vfr(out: Path) -> None:
    # 10 frames at 10 fps, then 40 frames at 50 fps.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48:r=50:d=1",
           "-vf", "setpts='if(lt(N,10),N*0.1/TB,(1+(N-10)*0.02)/TB)'", "-fps_mode", "vfr",
           "-c:v", "libx264", str(out))  # fmt: skip


def _indexed(out: Path) -> None:
    # Frame N has luma 4N (mod 256): the decoded brightness tells which frame was sampled. B-frames on.
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=64x48:r=30:d=2,geq=lum='mod(N*4,256)':cb=128:cr=128",
           "-c:v", "libx264", "-bf", "3", "-g", "12", str(out))  # fmt: skip


def _cfr10s(out: Path) -> None:
    # 250 frames at 25 fps, B-frames and a keyframe every 50: for the 100/101-frame boundary.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=10",
           "-c:v", "libx264", "-bf", "3", "-g", "50", str(out))  # fmt: skip


def _long(out: Path) -> None:
    # 21 minutes at 50 fps (63 000 frames), tiny frames: encodes in seconds.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=50:duration=1260",
           "-c:v", "libx264", "-preset", "veryfast", "-g", "250", str(out))  # fmt: skip


def _ffv1(out: Path) -> None:
    ffmpeg("-f", "lavfi", "-i", SRC, "-c:v", "ffv1", str(out))


def _one_frame(out: Path) -> None:
    ffmpeg("-f", "lavfi", "-i", SRC, "-frames:v", "1", "-c:v", "libx264", str(out))


def _audio_only(out: Path) -> None:
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(out))


def _empty(out: Path) -> None:
    out.write_bytes(b"")


def _truncated(out: Path, source: Path) -> None:
    data = source.read_bytes()
    out.write_bytes(data[: len(data) // 2])


def _random(out: Path) -> None:
    out.write_bytes(random.Random(1234).randbytes(20_000))


def _huge_gif(out: Path, source: Path) -> None:
    # A valid tiny GIF whose logical screen claims 65535 x 65535 pixels.
    data = bytearray(source.read_bytes())
    data[6:10] = b"\xff\xff\xff\xff"
    out.write_bytes(bytes(data))


def _playlist(out: Path, source: Path) -> None:
    out.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{source}\n#EXT-X-ENDLIST\n")


class VideoFactory:
    """Builds each named file once per test session, on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: dict[str, Path] = {}
        self._simple: dict[str, tuple[str, Callable[[Path], None]]] = {
            "h264": ("h264.mp4", _h264),
            "faststart": ("faststart.mp4", _faststart),
            "vp9": ("vp9.webm", _vp9),
            "avi": ("mpeg4.avi", _avi),
            "gif": ("anim.gif", _gif),
            "odd": ("odd.mp4", _odd),
            "rotated": ("rotated.mp4", _rotated),
            "vfr": ("vfr.mkv", _vfr),
            "indexed": ("indexed.mp4", _indexed),
            "one_frame": ("one_frame.mp4", _one_frame),
            "cfr10s": ("cfr10s.mp4", _cfr10s),
            "long": ("long21m.mp4", _long),
            "ffv1": ("ffv1.mkv", _ffv1),
            "audio_only": ("audio.m4a", _audio_only),
            "empty": ("empty.mp4", _empty),
            "random": ("random.mp4", _random),
        }
        # Files made from another named video: (file name, builder, source name).
        self._derived: dict[str, tuple[str, Callable[[Path, Path], None], str]] = {
            "truncated": ("truncated.mp4", _truncated, "h264"),
            "truncated_faststart": ("truncated_faststart.mp4", _truncated, "faststart"),
            "huge_gif": ("huge.gif", _huge_gif, "gif"),
            "playlist": ("playlist.m3u8", _playlist, "h264"),
        }

    def get(self, name: str) -> Path:
        if name in self._made:
            return self._made[name]
        if name in self._simple:
            filename, build = self._simple[name]
            path = self.root / filename
            build(path)
        elif name in self._derived:
            filename, derive, source = self._derived[name]
            path = self.root / filename
            derive(path, self.get(source))
        else:
            raise KeyError(name)
        self._made[name] = path
        return path
