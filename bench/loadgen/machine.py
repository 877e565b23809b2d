"""What every benchmark prints and stores next to its figures: the CPU, the cores, and how busy it was."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """Load average is recorded because the benchmark machine may be shared: figures taken under load are
    lower bounds, and the reader needs to know how loaded it was."""
    load = os.getloadavg()
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "loadavg_1_5_15": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def machine_line(info: dict[str, Any] | None = None) -> str:
    m = info or machine()
    load = "/".join(f"{x:.2f}" for x in m["loadavg_1_5_15"])
    return f"machine: {m['cpu_model']}, {m['cores']} cores, load average {load} (1/5/15 min)"


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path
