"""URL-path benchmark (issue 24 acceptance): served throughput / ffmpeg-alone throughput of the same frames.

    .venv/bin/python -m bench.url_path [--clips 48] [--clients 4]

Both sides run in one run on the same cores: ffmpeg alone before and after the served part (mean used):
(a) a 10 s 640x272 h264 clip, 8 frames per clip (the demo bundle), `--clients` concurrent clients posting
    URLs of a local HTTP origin on loopback, no cache; against ffmpeg alone decoding the same 8 frames per
    clip (the decoder's own select/crop/lanczos command, 1 thread, 2 at a time).
(b) a 10-minute 1280x720 h264 video at 2 s segments (300 segments x 8 frames) through the synchronous
    `/v1/embed/video` with `segments` (cap and request timeout raised); segments/s against the same 2 400
    frames decoded by ffmpeg alone (the same one-pass command, the server's thread setting).
Prints the figures, the CPU model and flags; writes bench/results/url_path.json.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen.machine import machine, machine_line, write_result
from bench.loadgen.serve_process import ServerProcess, free_port, videoprism_serve
from service.media import MediaSettings, SamplingSpec, probe_sync
from service.media.ffmpeg_binary import find_ffmpeg
from service.media.frame_decoder import decode_command
from service.media.sampling import plan_segment_spans, plan_windows
from service.media.strategy import choose_strategy

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "service" / "demo_bundle"
CACHE = Path(tempfile.gettempdir()) / "vp-bench-url-path"
SOURCES = {
    "clip10s_640x272.mp4": ["-f", "lavfi", "-i", "testsrc2=size=640x272:rate=25:duration=10",
                            "-c:v", "libx264", "-pix_fmt", "yuv420p"],
    "long10min_720p.mp4": ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=600",
                           "-c:v", "libx264", "-preset", "superfast", "-crf", "34", "-pix_fmt", "yuv420p"],
}  # fmt: skip
CLIP = SamplingSpec(num_frames=8, image_size=64)
LONG = SamplingSpec(num_frames=8, image_size=64, segment_s=2.0)


def cpu_flags() -> list[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return line.split(":", 1)[1].split()
    return []


def make_files() -> dict[str, Path]:
    CACHE.mkdir(exist_ok=True)
    out = {}
    for name, args in SOURCES.items():
        path = CACHE / name
        if not path.exists():
            tmp = path.with_suffix(".part.mp4")
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args, str(tmp)], check=True)
            tmp.rename(path)
        out[name] = path
    return out


def ffmpeg_alone_s(path: Path, spec: SamplingSpec, threads: int, runs: int, parallel: int) -> float:
    """Seconds for `runs` decodes of `spec`'s frames with the decoder's own command, `parallel` at a time."""
    settings = MediaSettings(decoder_threads=threads)
    info = probe_sync(path, settings)
    plans = plan_windows(info, spec, plan_segment_spans(info, spec))
    wanted = sorted({int(i) for p in plans for i in p.indices})
    command = decode_command(
        find_ffmpeg(settings), path, info, wanted, spec.image_size, spec.resize_mode,
        choose_strategy(info, wanted), settings, CACHE,
    )  # fmt: skip

    def once(_: int) -> None:
        out = subprocess.run(command.argv, check=True, capture_output=True).stdout
        assert len(out) == len(wanted) * spec.image_size**2 * 3, "ffmpeg returned the wrong frame count"

    try:
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(once, range(parallel)))  # warm the page cache and the binary
            started = time.perf_counter()
            list(pool.map(once, range(runs)))
            return time.perf_counter() - started
    finally:
        command.remove_script()


async def served_clips_s(url: str, video_url: str, clips: int, clients: int) -> float:
    """Seconds for `clips` URL requests spread over `clients` concurrent clients (distinct query strings)."""

    async def post(client: httpx.AsyncClient, query: str) -> None:
        response = await client.post(url, json={"videos": [{"url": f"{video_url}?{query}"}]})
        data = response.json()
        if response.status_code != 200 or data["data"][0].get("error"):
            raise RuntimeError(f"served request failed: {response.status_code} {response.text[:300]}")

    async with httpx.AsyncClient(timeout=httpx.Timeout(600.0)) as client:
        await post(client, "warm=1")
        numbers = iter(range(clips))  # shared: each client takes the next request number

        async def one_client() -> None:
            for i in numbers:
                await post(client, f"n={i}")

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        return time.perf_counter() - started


async def served_segments(url: str, video_url: str) -> tuple[float, int]:
    body = {"videos": [{"url": video_url}], "segments": {"interval_seconds": LONG.segment_s}}
    async with httpx.AsyncClient(timeout=httpx.Timeout(900.0)) as client:
        started = time.perf_counter()
        response = await client.post(url, json=body)
        elapsed = time.perf_counter() - started
    data = response.json()
    if response.status_code != 200 or data["data"][0].get("error"):
        raise RuntimeError(f"segment request failed: {response.status_code} {response.text[:300]}")
    return elapsed, len(data["data"][0]["segments"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    files = make_files()
    origin_port, http_port = free_port(), free_port()
    origin = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(origin_port), "--bind", "127.0.0.1", "--directory", str(CACHE)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    env = {
        "VIDEOPRISM_BUNDLE": str(BUNDLE), "VIDEOPRISM_CACHE": "none",
        "VIDEOPRISM_ALLOW_NETWORKS": "127.0.0.1/32", "VIDEOPRISM_ALLOWED_PORTS": str(origin_port),
        "VIDEOPRISM_MAX_SEGMENTS_PER_REQUEST": "1000", "VIDEOPRISM_REQUEST_TIMEOUT_S": "900",
        "VIDEOPRISM_VIDEO_MAX_QUEUE_SIZE": "1024",  # the sync path queues all 300 segments at once
    }  # fmt: skip
    server: ServerProcess = videoprism_serve(http_port, free_port(), cpus=None, env=env,
                                             log_path=CACHE / "server.log")  # fmt: skip
    base = f"http://127.0.0.1:{origin_port}"
    embed = f"http://127.0.0.1:{http_port}/v1/embed/video"
    clip_file, long_file = files["clip10s_640x272.mp4"], files["long10min_720p.mp4"]
    # The machine may be shared: ffmpeg alone runs before and after the served part, and the mean is used.
    alone_clip = [ffmpeg_alone_s(clip_file, CLIP, threads=1, runs=args.clips, parallel=2)]
    alone_long = [ffmpeg_alone_s(long_file, LONG, threads=0, runs=1, parallel=1)]
    try:
        server.start(timeout_s=300)
        clip_s = asyncio.run(served_clips_s(embed, f"{base}/clip10s_640x272.mp4", args.clips, args.clients))
        long_s, segments = asyncio.run(served_segments(embed, f"{base}/long10min_720p.mp4"))
    finally:
        server.stop()
        origin.terminate()
        origin.wait()
    alone_clip.append(ffmpeg_alone_s(clip_file, CLIP, threads=1, runs=args.clips, parallel=2))
    alone_long.append(ffmpeg_alone_s(long_file, LONG, threads=0, runs=1, parallel=1))
    served_cps, alone_cps = args.clips / clip_s, args.clips / (sum(alone_clip) / 2)
    served_sps, alone_sps = segments / long_s, 300 / (sum(alone_long) / 2)
    info = machine()
    flags = [f for f in cpu_flags() if f in {"sse4_2", "avx", "avx2", "avx512f", "fma", "f16c"}]
    result: dict[str, Any] = {
        "machine": info, "cpu_flags": flags,
        "clip": {"file": "10 s 640x272 h264", "frames_per_clip": 8, "clients": args.clients, "clips": args.clips,
                 "served_clips_per_s": round(served_cps, 2), "ffmpeg_alone_clips_per_s": round(alone_cps, 2),
                 "ffmpeg_alone_before_after_s": [round(t, 2) for t in alone_clip],
                 "ratio": round(served_cps / alone_cps, 3)},
        "long": {"file": "10 min 1280x720 h264, 2 s segments x 8 frames",
                 "api": "POST /v1/embed/video with segments (synchronous)", "segments": segments,
                 "served_segments_per_s": round(served_sps, 2), "ffmpeg_alone_segments_per_s": round(alone_sps, 2),
                 "ffmpeg_alone_before_after_s": [round(t, 2) for t in alone_long],
                 "ratio": round(served_sps / alone_sps, 3)},
    }  # fmt: skip
    print(machine_line(info))
    print(f"cpu flags: {' '.join(flags)}")
    c, g = result["clip"], result["long"]
    print(f"(a) clip: served {c['served_clips_per_s']} clips/s, ffmpeg alone {c['ffmpeg_alone_clips_per_s']} "
          f"clips/s, ratio {c['ratio']}")  # fmt: skip
    print(f"(b) long: served {g['served_segments_per_s']} segments/s ({segments} segments), ffmpeg alone "
          f"{g['ffmpeg_alone_segments_per_s']} segments/s, ratio {g['ratio']}")  # fmt: skip
    print(f"wrote {write_result('url_path', result)}")


if __name__ == "__main__":
    main()
