"""Building blocks of the full-size benches (`bench/real_size.py`, `bench/gpu_check.sh`): a `base` checkpoint
with random weights in the official layout, convert and export as child processes with their own wall time
and peak RSS, bare onnxruntime timings, and a served run with its start-to-ready time and peak RSS."""

from __future__ import annotations

import functools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

REPO = Path(__file__).resolve().parent.parent
OFFICIAL_TREES = REPO.parent / "shared" / "videoprism"


@dataclass(frozen=True)
class ChildRun:
    """One child process: its wall time and the peak RSS of that process alone (wait4's rusage)."""

    command: str
    wall_s: float
    peak_rss_gib: float
    stdout: str


def tree_rss_bytes(root: int) -> int:
    """Resident bytes of `root` and all its descendants now (from /proc: no psutil needed)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    family, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in family:
                family.add(pid)
                frontier.append(pid)
    total = 0
    for pid in family:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def run_child(argv: Sequence[str], env: dict[str, str] | None = None) -> ChildRun:
    """Runs `argv`; its peak RSS is the largest sum over its process tree, sampled every 0.2 s (a verify
    step in a child process holds memory at the same time as its parent)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(argv), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], tree_rss_bytes(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stdout is not None
    output = proc.stdout.read()
    done.set()
    sampler.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}:\n{output[-4000:]}")
    # ru_maxrss (KiB on Linux) catches a peak shorter than the sampling period, for the largest process.
    peak_bytes = max(peak[0], usage.ru_maxrss * 1024)
    return ChildRun(" ".join(argv[2:]), round(wall, 1), round(peak_bytes / 2**30, 2), output)


def official_tree_file(preset: str = "base") -> Path:
    return OFFICIAL_TREES / f"videoprism_param_tree_videoprism_public_v1_{preset}.json"


def build_checkpoint(workdir: Path, preset: str = "base") -> tuple[Path, ChildRun]:
    """Random official-layout `.npz` of `preset`, converted by `videoprism-train convert`."""
    from training.convert.synthetic import write_random_official

    npz = workdir / f"random_{preset}.npz"
    write_random_official(npz, json.loads(official_tree_file(preset).read_text()), seed=0)
    checkpoint = workdir / f"{preset}_checkpoint"
    convert = run_child([sys.executable, "-m", "training.cli", "convert", "--checkpoint", str(npz),
                         "--out", str(checkpoint), "--force"])  # fmt: skip
    npz.unlink()  # 458 MB the rest of the run does not need
    return checkpoint, convert


def export(checkpoint: Path, out: Path, precision: str = "fp32", verify: bool = True) -> ChildRun:
    argv = [sys.executable, "-m", "training.cli", "export", "--checkpoint", str(checkpoint), "--out", str(out),
            "--precision", precision]  # fmt: skip
    return run_child(argv + (["--verify"] if verify else []))


def file_modes(root: Path) -> list[str]:
    return sorted({oct(p.stat().st_mode & 0o777) for p in root.rglob("*") if p.is_file()})


def video_input(bundle: Path, batch: int, seed: int = 0) -> npt.NDArray[np.float32]:
    manifest = json.loads((bundle / "manifest.json").read_text())
    t, s = manifest["video"]["num_frames"], manifest["video"]["image_size"]
    return np.random.default_rng(seed).random((batch, t, s, s, 3), dtype=np.float32)


def session(
    bundle: Path, threads: int, providers: Sequence[str] = ("CPUExecutionProvider",)
) -> ort.InferenceSession:
    manifest = json.loads((bundle / "manifest.json").read_text())
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(
        str(bundle / manifest["video_encoder"]["file"]), options, providers=list(providers)
    )


def embeddings(sess: ort.InferenceSession, frames: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.asarray(sess.run(["embeddings"], {"frames": frames})[0], dtype=np.float32)


def cosine(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """The smallest row-wise cosine between two [B, D] sets of embeddings."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(axis=1).min())


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """The median, not the best: the served figures it is compared with are typical runs too, and on a
    shared machine a best-of rewards whichever side happened to run in a quiet moment."""
    fn()  # first run: allocations and kernel choice
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@dataclass(frozen=True)
class BareFigures:
    """onnxruntime in-process, no server: the bound the served figures are compared with."""

    latency_all_threads_s: float  # one clip, one session with every core (median)
    latency_one_thread_s: float  # one clip, a single-threaded session
    throughput_batch_clips_per_s: float  # one session with every core, batch `batch`
    throughput_per_core_clips_per_s: float  # one single-threaded run per core in parallel
    batch: int

    @property
    def best_latency_s(self) -> float:
        return min(self.latency_all_threads_s, self.latency_one_thread_s)

    @property
    def throughput_one_clip_loop(self) -> float:
        """One clip at a time on the every-core session: on a big model often the fastest way."""
        return 1.0 / self.latency_all_threads_s

    @property
    def best_throughput(self) -> float:
        return max(
            self.throughput_batch_clips_per_s,
            self.throughput_per_core_clips_per_s,
            self.throughput_one_clip_loop,
        )

    def to_json(self) -> dict[str, float]:
        return {
            **asdict(self),
            "best_latency_s": self.best_latency_s,
            "throughput_one_clip_loop": self.throughput_one_clip_loop,
            "best_throughput": self.best_throughput,
        }


def bare_figures(bundle: Path, cores: int, batch: int, repeats: int) -> BareFigures:
    from concurrent.futures import ThreadPoolExecutor

    one = video_input(bundle, 1)
    many = video_input(bundle, batch)
    wide = session(bundle, cores)
    latency_all = median_seconds(functools.partial(embeddings, wide, one), repeats)
    batch_s = median_seconds(functools.partial(embeddings, wide, many), max(1, repeats // 2))
    wide = None  # its arena holds a batch's activations
    narrow = session(bundle, 1)  # InferenceSession.run is safe to call from several threads
    latency_one = median_seconds(lambda: embeddings(narrow, one), 1)
    with ThreadPoolExecutor(cores) as pool:

        def per_core() -> None:
            list(pool.map(lambda _: embeddings(narrow, one), range(cores)))

        per_core_s = median_seconds(per_core, max(1, repeats // 2))
    return BareFigures(latency_all, latency_one, batch / batch_s, cores / per_core_s, batch)
