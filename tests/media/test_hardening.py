"""Issue 25 media hardening: the codec allow-list, stale spool directories, cancelled downloads."""

from __future__ import annotations

import asyncio
import fcntl
import ipaddress
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from service.errors import ServiceError
from service.media import MediaIngestor, MediaSettings, SamplingSpec, decode_clip_sync, probe_sync
from service.media.spool import PREFIX, lock_path
from tests.media.origin_server import Origin
from tests.media.procs import settle
from tests.media.videos import VideoFactory

SPEC = SamplingSpec(num_frames=2, image_size=8)


def test_ffv1_in_matroska_is_refused_at_the_probe(videos: VideoFactory, settings: MediaSettings) -> None:
    path = videos.get("ffv1")
    for call in (lambda: probe_sync(path, settings), lambda: decode_clip_sync(path, SPEC, settings)):
        with pytest.raises(ServiceError) as err:
            call()
        assert err.value.code == "unsupported_media"
        assert "ffv1" in err.value.message


async def test_codec_allowlist_is_configurable(videos: VideoFactory, settings: MediaSettings) -> None:
    widened = settings.model_copy(update={"codec_allowlist": (*settings.codec_allowlist, "ffv1")})
    async with MediaIngestor(widened) as ing:
        frames = await ing.decode_clip(await ing.from_bytes(videos.get("ffv1").read_bytes()), SPEC)
        assert frames.shape == (2, 8, 8, 3) and frames.std() > 5
    narrowed = settings.model_copy(update={"codec_allowlist": ("vp9",)})
    async with MediaIngestor(narrowed) as ing:
        with pytest.raises(ServiceError) as err:
            await ing.open_media(await ing.from_bytes(videos.get("h264").read_bytes()))
        assert err.value.code == "unsupported_media"


def _spool_of_a_process(parent: Path, hold: bool) -> tuple[Path, subprocess.Popen[bytes]]:
    """Start a real process that makes a spool directory as an ingestor does; killed, or left holding it."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from service.media.spool import SpoolDir\n"
        f"spool = SpoolDir(Path({str(parent)!r}))\n"
        "(spool.path / 'partial-download').write_bytes(b'x' * 1000)\n"
        "print(spool.path, flush=True)\n"
        "sys.stdin.read()\n"
    )
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=repo
    )
    assert proc.stdout is not None
    directory = Path(proc.stdout.readline().decode().strip())
    if not hold:
        proc.send_signal(signal.SIGKILL)  # what a kill -9 leaves: the directory, its files, no lock holder
        proc.wait()
    return directory, proc


async def test_startup_purges_only_stale_spool_dirs(tmp_path: Path) -> None:
    live, holder = _spool_of_a_process(tmp_path, hold=True)
    stale, _ = _spool_of_a_process(tmp_path, hold=False)  # made second: making one purges the stale
    foreign = tmp_path / "not-ours"
    foreign.mkdir()
    try:
        assert stale.is_dir() and live.is_dir()
        ing = MediaIngestor(MediaSettings(temp_dir=tmp_path))
        try:
            assert not stale.exists()
            assert (live / "partial-download").exists() and foreign.exists()
            assert ing.temp_dir.is_dir() and ing.temp_dir.name.startswith(PREFIX)
            # A second ingestor (another replica on the same volume) leaves the first one's directory alone.
            async with MediaIngestor(MediaSettings(temp_dir=tmp_path)) as other:
                assert ing.temp_dir.exists() and other.temp_dir != ing.temp_dir
        finally:
            await ing.aclose()
        assert not ing.temp_dir.exists() and not lock_path(ing.temp_dir).exists()
    finally:
        holder.kill()
        holder.wait()
    # Its holder gone, the remaining directory is stale for the next start.
    async with MediaIngestor(MediaSettings(temp_dir=tmp_path)):
        assert not live.exists() and not lock_path(live).exists()


def test_lock_is_the_liveness_signal(tmp_path: Path) -> None:
    """A directory whose lock file is locked by anyone is never purged, whatever pid it names."""
    directory = tmp_path / f"{PREFIX}handmade"
    directory.mkdir()
    fd = os.open(lock_path(directory), os.O_RDWR | os.O_CREAT)
    os.write(fd, b"999999999\n")  # a pid that does not exist
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        MediaIngestor(MediaSettings(temp_dir=tmp_path))
        assert directory.exists()
    finally:
        os.close(fd)
    MediaIngestor(MediaSettings(temp_dir=tmp_path))
    assert not directory.exists()


async def test_cancelled_download_stops_and_deletes_its_partial_file(tmp_path: Path) -> None:
    async with Origin() as origin:
        fetching = MediaSettings(
            temp_dir=tmp_path,
            allow_networks=(ipaddress.ip_network("127.0.0.1/32"),),
            allowed_ports=frozenset({origin.port}),
        )
        async with MediaIngestor(fetching) as ing:
            task = asyncio.create_task(ing.fetch_url(f"{origin.base}/drip"))  # 1 byte per 0.1 s
            await settle(lambda: bool(_downloads(ing)), within_s=5.0)  # the body is streaming
            await asyncio.sleep(0.3)
            assert origin.open_connections == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert _downloads(ing) == []
            # The connection is closed: the origin's drip loop ends early instead of sending 300 bytes.
            await settle(lambda: origin.open_connections == 0, within_s=1.0)


def _downloads(ing: MediaIngestor) -> list[Path]:
    return list(ing.temp_dir.iterdir())
