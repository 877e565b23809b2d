"""Render ablation results (seed -> model -> metric) as a markdown table of mean ± std over seeds."""

from __future__ import annotations

import statistics
from typing import Any

METRICS = (
    "appearance_probe", "motion_probe", "appearance_knn", "motion_knn", "temporal_probe", "temporal_knn",
    "t2v_R@5", "v2t_R@5",
)  # fmt: skip
ORDER = (
    "stage1_only", "stage2_full", "no_shuffle", "no_global", "no_token", "tube_0.65", "bevt_0.5", "bevt_0.55",
    "bevt_0.75", "bevt_0.8", "bevt_0.85",
)  # fmt: skip
LABELS = {
    "stage1_only": "stage 1 only",
    "stage2_full": "stage 2 full (BEVT 0.65, shuffle, token + global)",
    "no_shuffle": "stage 2 without token shuffling",
    "no_global": "stage 2 without global distillation",
    "no_token": "stage 2 without token-wise distillation",
    "tube_0.65": "stage 2, tube masking 0.65",
    "bevt_0.5": "stage 2, BEVT 0.5",
    "bevt_0.55": "stage 2, BEVT 0.55",
    "bevt_0.75": "stage 2, BEVT 0.75",
    "bevt_0.8": "stage 2, BEVT 0.8",
    "bevt_0.85": "stage 2, BEVT 0.85",
}


def mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    mean = 100 * statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {100 * statistics.stdev(values):.1f}"


def ablation_table(results: dict[str, Any], metrics: tuple[str, ...] = METRICS) -> str:
    """Accuracy / recall in %, mean ± sample std over the seeds that finished; n = number of seeds. Metrics
    no finished run has are left out; a cell no run of its model has is "-"."""
    runs_of = {n: [s[n] for s in results.values() if n in s] for n in ORDER}
    names = [n for n in ORDER if runs_of[n]] + sorted({n for s in results.values() for n in s} - set(ORDER))
    runs_of.update({n: [s[n] for s in results.values() if n in s] for n in names})
    shown = [m for m in metrics if any(m in r for n in names for r in runs_of[n])]
    lines = ["| model | n | " + " | ".join(shown) + " |", "|" + "---|" * (len(shown) + 2)]
    for name in names:
        runs = runs_of[name]
        cells = [mean_std([float(r[m]) for r in runs if m in r]) for m in shown]
        lines.append(f"| {LABELS.get(name, name)} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
