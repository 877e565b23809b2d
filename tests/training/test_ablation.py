"""The ablation runner on its smoke config, and the results table."""

from __future__ import annotations

import json
from pathlib import Path

from training.configs import ablation
from training.eval.ablation import run_ablation
from training.eval.results_table import ablation_table


def test_ablation_smoke_runs_every_listed_variant_and_resumes(tmp_path: Path) -> None:
    results = run_ablation({0: ablation.smoke(0)}, tmp_path)
    assert set(results["0"]) == {"stage1_only", "stage2_full", "no_shuffle"}
    stored = json.loads((tmp_path / "results.json").read_text())
    assert stored == results
    assert run_ablation({0: ablation.smoke(0)}, tmp_path) == results  # finished models are not redone


def test_table_reports_mean_and_std_over_seeds() -> None:
    row = {"appearance_probe": 0.5, "motion_probe": 0.25, "appearance_knn": 0.5, "motion_knn": 0.1}
    other = {**row, "appearance_probe": 0.7}
    table = ablation_table({"0": {"stage1_only": row}, "1": {"stage1_only": other}})
    assert "| stage 1 only | 2 | 60.0 ± 14.1 | 25.0 ± 0.0 |" in table


def test_every_variant_has_valid_stage2_overrides() -> None:
    import dataclasses

    base = ablation.config(0).pipeline.stage2
    for overrides in ablation.VARIANTS.values():
        dataclasses.replace(base, **overrides)
