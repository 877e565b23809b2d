"""Verdicts on the paper's stage-2 claims from ablation results (seed -> model -> metric).

A comparison of model A over model B on one metric counts only when the difference of the seed means
exceeds twice the pooled standard deviation, sqrt((s_A^2 + s_B^2) / 2) with sample stds over seeds:
- above +2 pooled std: "reproduced" (A better, as the paper says);
- below -2 pooled std: "not reproduced" (B better, against the paper);
- otherwise, or with fewer than two seeds on either side (no std to judge by): "inconclusive".
A claim spans several comparisons; it is reproduced when at least one is and none goes against it, not
reproduced when at least one goes against it and none supports it, and inconclusive otherwise.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["reproduced", "not reproduced", "inconclusive"]
MIN_SEEDS = 2


@dataclass(frozen=True)
class Claim:
    text: str  # the paper's claim, as the report states it
    better: tuple[str, ...]  # per comparison, the model the paper says is better ...
    worse: tuple[str, ...]  # ... than this one
    metrics: tuple[str, ...]  # each comparison is made on each of these metrics


@dataclass(frozen=True)
class Comparison:
    better: str
    worse: str
    metric: str
    difference: float  # mean(better) - mean(worse), accuracy in [0, 1]
    pooled_std: float  # nan with fewer than MIN_SEEDS seeds on either side
    seeds: int  # the smaller seed count of the two sides
    verdict: Verdict


MOTION_METRICS = ("motion_probe", "motion_knn", "temporal_probe", "temporal_knn")
APPEARANCE_METRICS = ("appearance_probe", "appearance_knn")
CLAIMS = (
    Claim(
        "stage 2 improves motion-centric tasks over stage 1",
        ("stage2_full",), ("stage1_only",), MOTION_METRICS,
    ),
    Claim(
        "global distillation keeps appearance (full stage 2 vs without global distillation)",
        ("stage2_full",), ("no_global",), APPEARANCE_METRICS,
    ),
    Claim(
        "token shuffling helps (full stage 2 vs without shuffling)",
        ("stage2_full",), ("no_shuffle",), ("appearance_probe", "motion_probe", "temporal_probe"),
    ),
    Claim(
        "BEVT 0.65 is a good ratio (vs BEVT 0.5 and 0.8)",
        ("stage2_full", "stage2_full"), ("bevt_0.5", "bevt_0.8"),
        ("appearance_probe", "motion_probe", "temporal_probe"),
    ),
)  # fmt: skip


def _values(results: Mapping[str, Any], model: str, metric: str) -> list[float]:
    return [
        float(per_seed[model][metric]) for per_seed in results.values() if metric in per_seed.get(model, {})
    ]


def compare(results: Mapping[str, Any], better: str, worse: str, metric: str) -> Comparison:
    a, b = _values(results, better, metric), _values(results, worse, metric)
    seeds = min(len(a), len(b))
    if seeds == 0:
        return Comparison(better, worse, metric, math.nan, math.nan, 0, "inconclusive")
    difference = statistics.fmean(a) - statistics.fmean(b)
    if seeds < MIN_SEEDS:
        return Comparison(better, worse, metric, difference, math.nan, seeds, "inconclusive")
    pooled = math.sqrt((statistics.variance(a) + statistics.variance(b)) / 2)
    verdict: Verdict = "inconclusive"
    if difference > 2 * pooled:
        verdict = "reproduced"
    elif difference < -2 * pooled:
        verdict = "not reproduced"
    return Comparison(better, worse, metric, difference, pooled, seeds, verdict)


def claim_verdict(comparisons: list[Comparison]) -> Verdict:
    verdicts = {c.verdict for c in comparisons}
    if "reproduced" in verdicts and "not reproduced" not in verdicts:
        return "reproduced"
    if "not reproduced" in verdicts and "reproduced" not in verdicts:
        return "not reproduced"
    return "inconclusive"


def judge(results: Mapping[str, Any], claim: Claim) -> tuple[Verdict, list[Comparison]]:
    comparisons = [
        compare(results, better, worse, metric)
        for better, worse in zip(claim.better, claim.worse, strict=True)
        for metric in claim.metrics
    ]
    return claim_verdict(comparisons), comparisons


def verdict_report(results: Mapping[str, Any], claims: tuple[Claim, ...] = CLAIMS) -> str:
    """Markdown: per claim its verdict, then each comparison (difference and pooled std in points)."""
    lines = []
    for claim in claims:
        verdict, comparisons = judge(results, claim)
        lines.append(f"- **{claim.text}: {verdict}**")
        for c in comparisons:
            head = f"  - {c.better} - {c.worse}, {c.metric}: "
            if c.seeds == 0:
                lines.append(head + "not run: inconclusive")
                continue
            spread = (
                "no std, < 2 seeds"
                if math.isnan(c.pooled_std)
                else f"2 x pooled std {200 * c.pooled_std:.1f}"
            )
            lines.append(head + f"{100 * c.difference:+.1f} points ({spread}, n = {c.seeds}): {c.verdict}")
    return "\n".join(lines)
