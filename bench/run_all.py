"""`make bench`: every benchmark in sequence, each in its own process writing its JSON under bench/results/.

A failing benchmark is reported and the others still run; the exit status is non-zero if any failed.
Scripts that are not in this checkout yet are listed as skipped.

    .venv/bin/python -m bench.run_all [--only encoder,compare_peers] [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time

from bench.loadgen.machine import machine_line

# (module, extra arguments for a normal run, extra arguments for --quick)
BENCHES: list[tuple[str, list[str], list[str]]] = [
    ("bench.encoder", [], ["--seconds", "1"]),
    ("bench.decode", [], ["--runs", "1"]),
    ("bench.batching", [], ["--seconds", "1"]),
    ("bench.data_loading", [], ["--seconds", "1"]),
    ("bench.training_throughput", [], []),
    ("bench.convert", ["--preset", "base"], ["--preset", "base"]),
    ("bench.physical_limit", [], ["--seconds", "1"]),
    ("bench.gpu_projection", [], []),
    ("bench.compare_peers", [], ["--seconds", "2", "--rounds", "1"]),
    ("bench.tracing", [], ["--requests", "50", "--rounds", "2"]),
]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="", help="comma-separated short names, e.g. encoder,compare_peers")
    parser.add_argument("--quick", action="store_true", help="shorter measurement windows")
    args = parser.parse_args()
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    print(machine_line(), flush=True)
    outcomes: list[tuple[str, str, float]] = []
    for module, normal, quick in BENCHES:
        short = module.split(".")[-1]
        if only and short not in only:
            continue
        if importlib.util.find_spec(module) is None:
            outcomes.append((short, "skipped (not in this checkout)", 0.0))
            continue
        print(f"\n=== {module} ===", flush=True)
        start = time.monotonic()
        code = subprocess.call([sys.executable, "-m", module, *(quick if args.quick else normal)])
        outcomes.append((short, "ok" if code == 0 else f"FAILED (exit {code})", time.monotonic() - start))
    print("\n" + machine_line())
    for short, status, seconds in outcomes:
        print(f"  {short:20s} {status:32s} {seconds:7.1f} s")
    return 0 if all(s in ("ok",) or s.startswith("skipped") for _, s, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
