"""The measuring half of `bench/gpu_check.sh` (run it through that script, which installs the `gpu` extra):
`base` with random weights exported, its fp16 TensorRT engine built, each GPU runtime checked against the
CPU bundle and timed at batch 1/8/32, then the served path (pre-decoded frames and URL) timed.
Writes bench/results/gpu_check.json; every step records its own failure instead of ending the run."""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import json
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.full_size import build_checkpoint, cosine, embeddings, export, session, video_input
from bench.loadgen.machine import machine, write_result

BATCHES = (1, 8, 32)
COSINE_MIN = 0.999
ORT_GPU_PROVIDERS = {
    "onnxruntime-cuda": ("CUDAExecutionProvider", "CPUExecutionProvider"),
    "onnxruntime-tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
}


def _step(result: dict[str, Any], name: str, fn: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    try:
        value = fn()
        result[name] = {"ok": True, "s": round(time.perf_counter() - started, 1), "value": value}
        print(f"{name}: ok in {result[name]['s']} s: {json.dumps(value, default=str)[:400]}", flush=True)
        return value
    except Exception as exc:
        result[name] = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "trace": traceback.format_exc()[-2000:],
        }
        print(f"{name}: FAILED {result[name]['error']}", flush=True)
        return None


def _clips_per_s(run: Callable[[np.ndarray], object], frames: np.ndarray, seconds: float = 5.0) -> float:
    run(frames)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or count < 2:
        run(frames)
        count += 1
    return count * frames.shape[0] / (time.perf_counter() - started)


def _runtime(name: str, bundle: Path, reference: np.ndarray, probe: np.ndarray) -> dict[str, Any]:
    if name == "tensorrt-engine":
        from service.core.backend_tensorrt import TensorRTBackend
        from videoprism_bundle.loader import load_bundle

        engines = load_bundle(bundle).manifest.tensorrt_engines
        spec = next(e for e in engines if e.source == "video_encoder")
        backend = TensorRTBackend(bundle / spec.file)

        def run(x: np.ndarray) -> np.ndarray:
            return backend.run({"frames": x})
    else:
        sess = session(bundle, 0, ORT_GPU_PROVIDERS[name])
        if sess.get_providers()[0] != ORT_GPU_PROVIDERS[name][0]:
            raise RuntimeError(f"onnxruntime fell back to {sess.get_providers()[0]}")

        def run(x: np.ndarray) -> np.ndarray:
            return embeddings(sess, x)

    agreement = cosine(reference, np.asarray(run(probe), dtype=np.float32))
    if agreement < COSINE_MIN:
        raise RuntimeError(f"cosine to the CPU bundle {agreement:.5f} < {COSINE_MIN}")
    rates = {str(b): _clips_per_s(run, video_input(bundle, b, seed=b)) for b in BATCHES}
    return {"cosine_to_cpu": agreement, "clips_per_s": rates}


def _test_video(path: Path, num_frames: int) -> Path:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
                    "-t", str(max(2, num_frames // 4)), "-pix_fmt", "yuv420p", str(path)], check=True)  # fmt: skip
    return path


def _served(bundle: Path, work: Path, seconds: float) -> dict[str, Any]:
    from bench.loadgen.clients import HttpClient
    from bench.loadgen.runner import closed_loop
    from bench.loadgen.serve_process import free_port, videoprism_serve
    from bench.loadgen.workloads import frames_body

    manifest = json.loads((bundle / "manifest.json").read_text())
    t, s = manifest["video"]["num_frames"], manifest["video"]["image_size"]
    video = _test_video(work / "clip.mp4", t)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(work))
    origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    video_url = f"http://127.0.0.1:{origin.server_address[1]}/{video.name}"
    port = free_port()
    env = {"VIDEOPRISM_BUNDLE": str(bundle), "VIDEOPRISM_DEVICE": "auto", "VIDEOPRISM_CACHE": "none",
           "VIDEOPRISM_VIDEO_MAX_BATCH_SIZE": "32", "VIDEOPRISM_MEDIA_ALLOW_PRIVATE_NETWORKS": "true"}  # fmt: skip
    server = videoprism_serve(port, free_port(), cpus=None, env=env, log_path=work / "serve.log")
    started = time.perf_counter()
    server.start(timeout_s=300)
    out: dict[str, Any] = {"start_to_ready_s": round(time.perf_counter() - started, 1)}
    url = f"http://127.0.0.1:{port}/v1/embed/video"

    def url_body(index: int) -> bytes:
        # A distinct query per request so no cache layer can answer; the origin ignores it.
        return json.dumps({"videos": [{"url": f"{video_url}?i={index}"}]}).encode()

    async def drive() -> None:
        bodies = {"frames": lambda i: frames_body(i, t, s), "url": url_body}
        for kind, body in bodies.items():
            async with HttpClient(url, body, limit=64) as client:
                for concurrency in (1, 8, 32):
                    result = await closed_loop(client.send, concurrency, seconds, warmup_s=1.0)
                    out[f"{kind}_c{concurrency}"] = result.to_json()

    try:
        asyncio.run(drive())
    finally:
        server.stop()
        origin.shutdown()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget-s", type=float, default=480.0)
    parser.add_argument("--seconds", type=float, default=8.0, help="per served load level")
    args = parser.parse_args()
    deadline = time.monotonic() + args.budget_s
    result: dict[str, Any] = {"machine": machine(), "budget_s": args.budget_s}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = Path(tmp)
        checkpoint = _step(result, "convert", lambda: str(build_checkpoint(work)[0]))
        bundle = work / "base_fp32"
        if checkpoint:
            _step(result, "export", lambda: export(Path(checkpoint), bundle, verify=False).wall_s)
        if result.get("export", {}).get("ok"):
            build = [
                sys.executable,
                "-m",
                "training.cli",
                "build-engine",
                str(bundle),
                "--fp16",
                "--max-batch",
                "32",
            ]
            _step(
                result,
                "build_engine_fp16",
                lambda: subprocess.run(build, check=True, capture_output=True, text=True).stdout[-2000:],
            )
            probe = video_input(bundle, 4, seed=3)
            reference = embeddings(session(bundle, 0), probe)
            for name in ("tensorrt-engine", *ORT_GPU_PROVIDERS):
                if time.monotonic() > deadline:
                    result[name] = {"ok": False, "error": "budget spent"}
                    continue
                _step(result, name, functools.partial(_runtime, name, bundle, reference, probe))
            _step(result, "served", lambda: _served(bundle, work, args.seconds))
    result["within_budget"] = time.monotonic() <= deadline
    steps = [k for k, v in result.items() if isinstance(v, dict) and "ok" in v]
    result["all_ok"] = all(result[k]["ok"] for k in steps)
    print(
        f"wrote {write_result('gpu_check', result)}; all steps ok: {result['all_ok']}, within budget: {result['within_budget']}"
    )
    return 0 if result["all_ok"] and result["within_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
