"""Render ablation results (seed -> model -> metric) as a markdown table of mean ± std over seeds."""

from __future__ import annotations

import statistics
from typing import Any

METRICS = ("appearance_probe", "motion_probe", "appearance_knn", "motion_knn")
ORDER = (
    "stage1_only",
    "stage2_full",
    "no_shuffle",
    "no_global",
    "tube_0.65",
    "bevt_0.55",
    "bevt_0.75",
    "bevt_0.85",
)
LABELS = {
    "stage1_only": "stage 1 only",
    "stage2_full": "stage 2 full (BEVT 0.65, shuffle, token + global)",
    "no_shuffle": "stage 2 without token shuffling",
    "no_global": "stage 2 without global distillation",
    "tube_0.65": "stage 2, tube masking 0.65",
    "bevt_0.55": "stage 2, BEVT 0.55",
    "bevt_0.75": "stage 2, BEVT 0.75",
    "bevt_0.85": "stage 2, BEVT 0.85",
}


def mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    mean = 100 * statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {100 * statistics.stdev(values):.1f}"


def ablation_table(results: dict[str, Any]) -> str:
    """Top-1 accuracy in %, mean ± sample std over the seeds that finished; n = number of seeds."""
    names = [n for n in ORDER if any(n in per_seed for per_seed in results.values())]
    header = "| model | n | " + " | ".join(METRICS) + " |"
    lines = [header, "|" + "---|" * (len(METRICS) + 2)]
    for name in names:
        runs = [per_seed[name] for per_seed in results.values() if name in per_seed]
        cells = [mean_std([float(r[m]) for r in runs]) for m in METRICS]
        lines.append(f"| {LABELS.get(name, name)} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
