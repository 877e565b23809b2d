"""How docs/performance.md writes a number, a table, a machine line and a plot."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: the report is built in CI and on servers without a display
import matplotlib.pyplot as plt


def fmt(value: Any, digits: int = 1) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"
    return str(value)


def machine_of(data: dict[str, Any]) -> str:
    m = data.get("machine", {})
    load = m.get("loadavg_1_5_15") or m.get("load_avg_1m") or m.get("load_average_1min") or "not recorded"
    return f"{m.get('cpu_model') or m.get('cpu', '?')}, {m.get('cores', '?')} cores, load average {load}"


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def flat_table(data: dict[str, Any], limit: int = 40) -> str:
    """Key/value table of any result JSON (numbers and strings up to three levels deep)."""
    rows: list[list[Any]] = []

    def walk(prefix: str, value: Any, depth: int) -> None:
        if isinstance(value, dict) and depth < 3:
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner, depth + 1)
        elif isinstance(value, int | float | str | bool) and not prefix.startswith("machine"):
            rows.append([prefix, value])

    walk("", data, 0)
    return table(["figure", "value"], rows[:limit]) + ("\n\n(truncated)" if len(rows) > limit else "")


def save(fig: Any, img_dir: Path, name: str) -> str:
    img_dir.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(img_dir / name, dpi=110)
    plt.close(fig)
    return f"![{name}](img/{name})"
