"""What every benchmark prints and stores next to its figures: the CPU, the cores, and how busy it was."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _cpuinfo(field: str) -> str | None:
    """The first CPU's `field` in /proc/cpuinfo (None where there is no /proc)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    return _cpuinfo("model name") or platform.processor() or "unknown"


# The instruction sets that decide which kernels onnxruntime, torch and ffmpeg pick on this CPU.
SPEED_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")


def cpu_flags() -> list[str]:
    return (_cpuinfo("flags") or "").split()


def machine(**extra: object) -> dict[str, Any]:
    """Load average is recorded because the benchmark machine may be shared: figures taken under load are
    lower bounds, and the reader needs to know how loaded it was. `extra` adds what one benchmark depends
    on (library versions, threads)."""
    load = os.getloadavg()
    present = set(cpu_flags())
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "cpu_flags": [flag for flag in SPEED_FLAGS if flag in present],
        "loadavg_1_5_15": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **extra,
    }


def machine_line(info: dict[str, Any] | None = None) -> str:
    m = info or machine()
    load = "/".join(f"{x:.2f}" for x in m["loadavg_1_5_15"])
    flags = " ".join(m.get("cpu_flags", [])) or "unknown"
    return f"machine: {m['cpu_model']}, {m['cores']} cores, flags {flags}, load average {load} (1/5/15 min)"


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path
