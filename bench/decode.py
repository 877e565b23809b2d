"""Decode benchmark: ms per video to get 16 frames at 288x288, against ffmpeg's full decode of the same file.

    .venv/bin/python -m bench.decode [--runs 5]

Files (generated with ffmpeg lavfi, h264): "short" 10 s 1280x720 30 fps with x264's default GOP (the issue's
reference), and "long_gop1s" 60 s 1280x720 30 fps with a keyframe every second (where seeking pays).
Prints the figures and the machine; writes bench/results/decode.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from service.media import MediaSettings, SamplingSpec, decode_clip_sync, probe_sync
from service.media.ffmpeg_binary import find_ffmpeg
from service.media.sampling import plan_clip
from service.media.strategy import choose_strategy

SPEC = SamplingSpec(num_frames=16, image_size=288)
FILES = {
    "short": ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=10", "-c:v", "libx264", "-pix_fmt", "yuv420p"],
    "long_gop1s": ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=60", "-c:v", "libx264",
                   "-preset", "veryfast", "-g", "30", "-keyint_min", "30", "-pix_fmt", "yuv420p"],
}  # fmt: skip


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def median_ms(fn: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_file(path: Path, settings: MediaSettings, runs: int) -> dict[str, Any]:
    ffmpeg = str(find_ffmpeg(settings))
    full = median_ms(
        lambda: subprocess.run([ffmpeg, "-v", "error", "-i", str(path), "-f", "null", "-"], check=True), runs
    )
    probe = median_ms(lambda: probe_sync(path, settings), runs)
    info = probe_sync(path, settings)
    plan = plan_clip(info, SPEC)
    unique = sorted({int(i) for i in plan.indices})
    chosen = choose_strategy(info, unique)
    results: dict[str, Any] = {}
    outputs = {}
    for strategy in ("one_pass", "seek", None):
        name = strategy or "auto"
        outputs[name] = decode_clip_sync(path, SPEC, settings, info=info, strategy=strategy)
        results[f"decode_{name}_ms"] = median_ms(
            lambda s=strategy: decode_clip_sync(path, SPEC, settings, info=info, strategy=s), runs
        )
    same = all(np.array_equal(outputs["one_pass"], o) for o in outputs.values())
    # How far each sampled frame's timestamp lands from its target instant (it is the frame on screen then).
    targets = plan.start_s + np.arange(SPEC.num_frames) * ((plan.end_s - plan.start_s) / SPEC.num_frames)
    landed = np.array([info.seconds(info.frame_pts[i] - info.frame_pts[0]) for i in plan.indices])
    offset_ms = (targets - landed) * 1000
    total_auto = probe + results["decode_auto_ms"]
    return {
        "frames": info.num_frames,
        "keyframes": len(info.keyframes),
        "full_decode_ms": full,
        "probe_ms": probe,
        **results,
        "auto_strategy": chosen.strategy,
        "estimated_decoded_frames": {"one_pass": chosen.one_pass_frames, "seek": chosen.seek_frames},
        "probe_plus_auto_ms": total_auto,
        "ratio_to_full_decode": total_auto / full,
        "strategies_agree_bitwise": same,
        "target_offset_ms_max": float(np.abs(offset_ms).max()),
        "target_offset_ms_mean": float(np.abs(offset_ms).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "decode.json")
    args = parser.parse_args()
    settings = MediaSettings()
    ffmpeg = str(find_ffmpeg(settings))
    machine = {"cpu": cpu_model(), "cores": os.cpu_count(), "load_avg_1m": os.getloadavg()[0],
               "ffmpeg": subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.split("\n")[0]}  # fmt: skip
    print(
        f"machine: {machine['cpu']}, {machine['cores']} cores, load {machine['load_avg_1m']:.1f}; {machine['ffmpeg']}"
    )
    report: dict[str, Any] = {"machine": machine, "spec": SPEC.model_dump(), "runs": args.runs, "files": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, encode in FILES.items():
            path = Path(tmp) / f"{name}.mp4"
            subprocess.run([ffmpeg, "-v", "error", "-y", *encode, str(path)], check=True)
            row = bench_file(path, settings, args.runs)
            report["files"][name] = row
            print(
                f"{name}: {row['frames']} frames, {row['keyframes']} keyframes | full decode {row['full_decode_ms']:.0f} ms"
                f" | probe {row['probe_ms']:.0f} ms | one_pass {row['decode_one_pass_ms']:.0f} ms"
                f" | seek {row['decode_seek_ms']:.0f} ms | auto={row['auto_strategy']} {row['decode_auto_ms']:.0f} ms"
                f" | probe+auto / full = {row['ratio_to_full_decode']:.2f}x"
                f" | target offset max {row['target_offset_ms_max']:.1f} ms mean {row['target_offset_ms_mean']:.1f} ms"
                f" | strategies agree: {row['strategies_agree_bitwise']}"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
