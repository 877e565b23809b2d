"""Conversion time and peak memory for a random checkpoint with the exact parameter tree of a released model.

    python -m bench.convert [--preset base|large|lvt_base|lvt_large] [--workdir DIR]

The random `.npz` is written member by member (official layout, float32) into a temporary directory; the
conversion runs in a child process (`videoprism-train convert`), so its peak RSS is the conversion's own and
not this script's. Prints the machine and writes `bench/results/convert_<preset>.json`.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench.loadgen.machine import machine
from training.convert.synthetic import write_random_official

REPO = Path(__file__).resolve().parent.parent
TREES = {
    "base": "videoprism_public_v1_base",
    "large": "videoprism_public_v1_large",
    "lvt_base": "videoprism_lvt_public_v1_base",
    "lvt_large": "videoprism_lvt_public_v1_large",
}


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(preset: str, workdir: Path | None) -> dict[str, object]:
    tree_file = REPO.parent / "shared" / "videoprism" / f"videoprism_param_tree_{TREES[preset]}.json"
    tree = json.loads(tree_file.read_text())
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        npz = Path(tmp) / f"random_{preset}.npz"
        started = time.perf_counter()
        write_random_official(npz, tree, seed=0)
        write_s = time.perf_counter() - started
        out = Path(tmp) / "converted"
        command = [
            sys.executable,
            "-m",
            "training.cli",
            "convert",
            "--checkpoint",
            str(npz),
            "--out",
            str(out),
        ]
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
        wall_s = time.perf_counter() - started
        # ru_maxrss of children is in KiB on Linux: the largest resident set of the conversion process.
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        match = re.search(r"in ([0-9.]+) s", proc.stdout)
        return {
            "preset": preset,
            "parameters": sum(int(torch.tensor(s).prod()) for s in tree.values()),
            "npz_bytes": npz.stat().st_size,
            "checkpoint_bytes": _dir_bytes(out),
            "write_random_npz_s": round(write_s, 2),
            "convert_s_in_process": float(match.group(1)) if match else None,
            "convert_s_wall_with_startup": round(wall_s, 2),
            "peak_rss_mib": round(peak_kib / 1024, 1),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(TREES), default="base")
    parser.add_argument(
        "--workdir", type=Path, help="where the temporary npz + checkpoint go (needs ~3x size)"
    )
    args = parser.parse_args()
    info = machine(torch=torch.__version__)
    print("machine:", json.dumps(info))
    result = run(args.preset, args.workdir)
    print(json.dumps(result, indent=2))
    out = REPO / "bench" / "results" / f"convert_{args.preset}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": info, "result": result}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
