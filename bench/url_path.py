"""URL-path benchmark (issue 24 acceptance): served throughput / ffmpeg-alone throughput of the same frames.

    .venv/bin/python -m bench.url_path [--clips 24] [--rounds 7] [--clients 4]

Both sides run in one run on the same cores, interleaved so that a change of background load hits both:
(a) a 10 s 640x272 h264 clip, 8 frames per clip (the demo bundle), `--clients` concurrent clients posting
    URLs of a local HTTP origin on loopback, no cache, in `--rounds` rounds of `--clips` clips; against ffmpeg
    alone decoding the same 8 frames per clip (the decoder's own select/crop/lanczos command, 2 at a time like
    the server's decode permits) before and after each round, with 1 thread (the issue's baseline) and with
    the server's thread setting. The medians over rounds are the figures: the ratio of whole rounds, and the
    steady-state ratio, counted on both sides between the `--clients`-th finish and the `--clients`-th from
    last (the ramp-up and the drain of a round, when lanes stand idle, left out).
(b) a 10-minute 1280x720 h264 video at 2 s segments (300 segments x 8 frames), served twice: through the
    synchronous `/v1/embed/video` with `segments` (cap and request timeout raised) and through the gRPC
    segment stream `EmbedVideoSegments`; each against the mean of the ffmpeg-alone runs just before and just
    after it (the same one-pass command over the same 2 400 frames, the server's thread setting). The server
    cuts such a decode at keyframes over two single-thread ffmpeg processes (docs/media.md, chunked decodes).
Besides wall-clock ratios it reports CPU seconds (the server process and its ffmpeg children against
ffmpeg alone), which do not depend on what else the machine runs.
Prints the figures, the CPU model and flags; writes bench/results/url_path.json.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
from videoprism_client.grpc_client import GrpcClient
from videoprism_client.long_video import StreamedSegment
from videoprism_client.types import Video, VideoOptions

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
LONG_SEGMENTS = 300


@dataclass(frozen=True)
class Timed:
    """Wall seconds and CPU seconds (the process and the children it reaped) of one measured run, and when
    each of its units finished (seconds from its start)."""

    wall_s: float
    cpu_s: float
    done_at: tuple[float, ...] = ()

    def steady_rate(self, skip: int) -> float:
        """Units per second between the `skip`-th finish and the `skip`-th from last: the run's ramp-up (the
        first units start together) and drain (the last ones finish with idle lanes beside them) left out."""
        done = sorted(self.done_at)
        if len(done) <= 2 * skip + 1:
            return len(done) / self.wall_s
        return (len(done) - 2 * skip - 1) / (done[-skip - 1] - done[skip])


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


def children_cpu_s() -> float:
    return sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])


def process_cpu_s(pid: int) -> float:
    """utime + stime + cutime + cstime of `pid`: the server and the ffmpeg children it has reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def ffmpeg_alone(
    path: Path, spec: SamplingSpec, threads: int, runs: int, parallel: int, binary: str
) -> Timed:
    """`runs` decodes of `spec`'s frames with the decoder's own command and `binary`, `parallel` at a time."""
    settings = MediaSettings.model_validate({"decoder_threads": threads, "ffmpeg": binary})
    info = probe_sync(path, settings)
    plans = plan_windows(info, spec, plan_segment_spans(info, spec))
    wanted = sorted({int(i) for p in plans for i in p.indices})
    command = decode_command(
        find_ffmpeg(settings), path, info, wanted, spec.image_size, spec.resize_mode,
        choose_strategy(info, wanted), settings, CACHE,
    )  # fmt: skip

    done_at: list[float] = []

    def once(_: int) -> None:
        out = subprocess.run(command.argv, check=True, capture_output=True).stdout
        assert len(out) == len(wanted) * spec.image_size**2 * 3, "ffmpeg returned the wrong frame count"
        done_at.append(time.perf_counter())

    try:
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(once, range(parallel)))  # warm the page cache and the binary
            done_at.clear()
            started, cpu = time.perf_counter(), children_cpu_s()
            list(pool.map(once, range(runs)))
            wall, cpu = time.perf_counter() - started, children_cpu_s() - cpu
            return Timed(wall, cpu, tuple(t - started for t in done_at))
    finally:
        command.remove_script()


def served(server: ServerProcess, run: Callable[[], Any]) -> tuple[Timed, Any]:
    """`run()` timed against the server's CPU; a list of finish times (time.perf_counter) it returns becomes
    the Timed's `done_at`."""
    cpu, started = process_cpu_s(server.pid), time.perf_counter()
    value = run()
    wall, cpu = time.perf_counter() - started, process_cpu_s(server.pid) - cpu
    done_at = tuple(t - started for t in value) if isinstance(value, list) else ()
    return Timed(wall, cpu, done_at), value


async def served_clips(url: str, video_url: str, numbers: Iterator[int], clients: int) -> list[float]:
    """The URL requests of `numbers` spread over `clients` concurrent clients (distinct query strings); when
    each answer arrived (time.perf_counter)."""
    done_at: list[float] = []

    async def post(client: httpx.AsyncClient, query: str) -> None:
        response = await client.post(url, json={"videos": [{"url": f"{video_url}?{query}"}]})
        data = response.json()
        if response.status_code != 200 or data["data"][0].get("error"):
            raise RuntimeError(f"served request failed: {response.status_code} {response.text[:300]}")

    async with httpx.AsyncClient(timeout=httpx.Timeout(600.0)) as client:

        async def one_client() -> None:
            for i in numbers:
                await post(client, f"n={i}")
                done_at.append(time.perf_counter())

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return done_at


def served_sync_segments(url: str, video_url: str) -> int:
    body = {"videos": [{"url": f"{video_url}?sync"}], "segments": {"interval_seconds": LONG.segment_s}}
    response = httpx.post(url, json=body, timeout=httpx.Timeout(900.0))
    data = response.json()
    if response.status_code != 200 or data["data"][0].get("error"):
        raise RuntimeError(f"segment request failed: {response.status_code} {response.text[:300]}")
    return len(data["data"][0]["segments"])


def served_stream_segments(target: str, video_url: str) -> int:
    """Segments received from `EmbedVideoSegments`, checked to arrive in order."""
    client = GrpcClient(target, timeout_s=None)
    try:
        options = VideoOptions(segment_seconds=LONG.segment_s)
        items = list(client.embed_video_segments(Video(url=f"{video_url}?stream"), options, timeout_s=900.0))
    finally:
        client.close()
    indices = [item.index for item in items if isinstance(item, StreamedSegment)]
    if indices != list(range(len(indices))):
        raise RuntimeError("segments arrived out of order")
    return len(indices)


def ratio_row(name: str, count: int, unit: str, srv: Timed, alone: list[Timed], runs: int) -> dict[str, Any]:
    """Served vs ffmpeg alone: throughput (alone = mean wall of its runs) and CPU seconds per unit."""
    alone_wall = sum(t.wall_s for t in alone) / len(alone)
    alone_cpu = sum(t.cpu_s for t in alone) / len(alone)
    served_rate, alone_rate = count / srv.wall_s, runs / alone_wall
    return {
        "path": name, f"served_{unit}_per_s": round(served_rate, 2), f"ffmpeg_alone_{unit}_per_s": round(alone_rate, 2),
        "ffmpeg_alone_before_after_s": [round(t.wall_s, 2) for t in alone],
        "ratio": round(served_rate / alone_rate, 3),
        f"served_cpu_ms_per_{unit[:-1]}": round(1000 * srv.cpu_s / count, 1),
        f"ffmpeg_alone_cpu_ms_per_{unit[:-1]}": round(1000 * alone_cpu / runs, 1),
        "cpu_ratio": round((alone_cpu / runs) / (srv.cpu_s / count), 3),
        "loadavg_1min_after": round(os.getloadavg()[0], 2),
    }  # fmt: skip


def clip_rounds(server: ServerProcess, post: Callable[[int], list[float]], path: Path, args: argparse.Namespace,
                threads: int) -> dict[str, Any]:  # fmt: skip
    """`args.rounds` served runs of `args.clips` clips, each between ffmpeg-alone runs with 1 thread (the
    issue's baseline) and with the server's thread setting; the medians over rounds are the figures."""
    one_thread = functools.partial(ffmpeg_alone, path, CLIP, 1, args.clips, 2, args.ffmpeg)
    own_threads = functools.partial(ffmpeg_alone, path, CLIP, threads, args.clips, 2, args.ffmpeg)
    one, same = [one_thread()], [own_threads()]
    rows: list[dict[str, Any]] = []
    for r in range(args.rounds):
        srv, _ = served(server, functools.partial(post, r))
        one.append(one_thread())
        same.append(own_threads())
        for baseline, runs in (("1 thread", one), (f"threads={threads}", same)):
            name = "POST /v1/embed/video, one URL per request"
            row = ratio_row(name, args.clips, "clips", srv, runs[r : r + 2], args.clips)
            alone_steady = statistics.mean(t.steady_rate(args.clients) for t in runs[r : r + 2])
            steady = {"steady_ratio": round(srv.steady_rate(args.clients) / alone_steady, 3)}
            rows.append({"round": r, "ffmpeg_alone": baseline, **row, **steady})
    summary = {}
    for baseline in ("1 thread", f"threads={threads}"):
        mine = [row for row in rows if row["ffmpeg_alone"] == baseline]
        summary[baseline] = {
            key: statistics.median(row[key] for row in mine) for key in ("ratio", "steady_ratio", "cpu_ratio")
        }
    return {"file": "10 s 640x272 h264", "frames_per_clip": 8, "clients": args.clients, "clips_per_round": args.clips,
            "median": summary, "rounds": rows}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=24, help="clips per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--ffmpeg", default="auto", help="auto | system | imageio, for both sides")
    args = parser.parse_args()
    files = make_files()
    origin_port, http_port, grpc_port = free_port(), free_port(), free_port()
    origin = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(origin_port), "--bind", "127.0.0.1", "--directory", str(CACHE)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    env = {
        "VIDEOPRISM_BUNDLE": str(BUNDLE), "VIDEOPRISM_CACHE": "none",
        "VIDEOPRISM_ALLOW_NETWORKS": "127.0.0.1/32", "VIDEOPRISM_ALLOWED_PORTS": str(origin_port),
        "VIDEOPRISM_MAX_SEGMENTS_PER_REQUEST": "1000", "VIDEOPRISM_REQUEST_TIMEOUT_S": "900",
        "VIDEOPRISM_VIDEO_MAX_QUEUE_SIZE": "1024",  # the sync path queues all 300 segments at once
        "VIDEOPRISM_FFMPEG": args.ffmpeg,
    }  # fmt: skip
    server: ServerProcess = videoprism_serve(http_port, grpc_port, cpus=None, env=env,
                                             log_path=CACHE / "server.log")  # fmt: skip
    base = f"http://127.0.0.1:{origin_port}"
    embed = f"http://127.0.0.1:{http_port}/v1/embed/video"
    clip_url, long_url = f"{base}/clip10s_640x272.mp4", f"{base}/long10min_720p.mp4"
    clip_file, long_file = files["clip10s_640x272.mp4"], files["long10min_720p.mp4"]
    load_before = machine()["loadavg_1_5_15"]
    threads = MediaSettings().decoder_threads  # the server runs with the default media settings
    try:
        server.start(timeout_s=300)
        httpx.post(embed, json={"videos": [{"url": f"{clip_url}?warm"}]}, timeout=120.0).raise_for_status()

        # Each served run sits between two ffmpeg-alone runs; the mean of its two neighbours is its baseline.
        def post(r: int) -> list[float]:  # distinct query strings over all rounds
            numbers = iter(range(r * args.clips, (r + 1) * args.clips))
            return asyncio.run(served_clips(embed, clip_url, numbers, args.clients))

        clip = clip_rounds(server, post, clip_file, args, threads)
        long_alone = functools.partial(ffmpeg_alone, long_file, LONG, threads, 1, 1, args.ffmpeg)
        alone_long = [long_alone()]
        srv_sync, n_sync = served(server, lambda: served_sync_segments(embed, long_url))
        alone_long.append(long_alone())
        srv_stream, n_stream = served(
            server, lambda: served_stream_segments(f"127.0.0.1:{grpc_port}", long_url)
        )
        alone_long.append(long_alone())
    finally:
        server.stop()
        origin.terminate()
        origin.wait()
    if n_sync != LONG_SEGMENTS or n_stream != LONG_SEGMENTS:
        raise RuntimeError(f"expected {LONG_SEGMENTS} segments, got {n_sync} (sync) and {n_stream} (stream)")
    info = machine()
    flags = info["cpu_flags"]
    sync = ratio_row("POST /v1/embed/video with segments (synchronous)", n_sync, "segments", srv_sync,
                     alone_long[:2], LONG_SEGMENTS)  # fmt: skip
    stream = ratio_row("gRPC EmbedVideoSegments (streamed)", n_stream, "segments", srv_stream, alone_long[1:],
                       LONG_SEGMENTS)  # fmt: skip
    result: dict[str, Any] = {
        "machine": info, "loadavg_before": load_before, "cpu_flags": flags, "ffmpeg": args.ffmpeg,
        "clip": clip,
        "long": {"file": "10 min 1280x720 h264, 2 s segments x 8 frames", "segments": LONG_SEGMENTS,
                 "sync": sync, "stream": stream},
    }  # fmt: skip
    print(machine_line(info))
    print(f"load average before: {'/'.join(str(x) for x in load_before)}; cpu flags: {' '.join(flags)}")
    for name, median in clip["median"].items():
        print(f"(a) clip, {args.rounds} rounds of {args.clips} clips vs ffmpeg alone with {name}: median ratio "
              f"{median['ratio']}, steady-state {median['steady_ratio']} (CPU ratio {median['cpu_ratio']})")  # fmt: skip
    for name, row in (("sync", sync), ("stream", stream)):
        print(f"(b) long, {name}: served {row['served_segments_per_s']} segments/s, ffmpeg alone "
              f"{row['ffmpeg_alone_segments_per_s']} segments/s, ratio {row['ratio']} "
              f"(CPU: served {row['served_cpu_ms_per_segment']} ms/segment, alone "
              f"{row['ffmpeg_alone_cpu_ms_per_segment']} ms/segment, ratio {row['cpu_ratio']})")  # fmt: skip
    name = "url_path" if args.ffmpeg == "auto" else f"url_path_{args.ffmpeg}"
    print(f"wrote {write_result(name, result)}")


if __name__ == "__main__":
    main()
