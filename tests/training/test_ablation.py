"""The ablation runner on its smoke config, and the results table."""

from __future__ import annotations

import json
from pathlib import Path

from training.cli import main
from training.configs import ablation
from training.eval.results_table import ablation_table
from training.runs.ablation import run_ablation


def test_ablation_smoke_runs_every_listed_variant_and_resumes(tmp_path: Path) -> None:
    results = run_ablation({0: ablation.smoke(0)}, tmp_path)
    assert set(results["0"]) == {"stage1_only", "stage2_full", "no_shuffle"}
    for metrics in results["0"].values():  # probes of all three tasks, and retrieval after alignment
        assert {
            "appearance_probe",
            "motion_knn",
            "temporal_probe",
            "temporal_knn",
            "t2v_R@5",
            "v2t_R@1",
        } <= set(metrics)
    assert (tmp_path / "seed0" / "stage2_full-align" / "model").is_dir()
    stored = json.loads((tmp_path / "results.json").read_text())
    assert stored == results
    assert run_ablation({0: ablation.smoke(0)}, tmp_path) == results  # finished models are not redone
    command = ["ablation", "--scale", "smoke", "--seeds", "0", "--out", str(tmp_path), "--report-only"]
    assert main([*command, "--no-write-docs"]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "videoprism-train ablation --scale smoke --seeds 0" in report and "| stage 1 only | 1 |" in report


def test_table_reports_mean_and_std_over_seeds() -> None:
    row = {"appearance_probe": 0.5, "motion_probe": 0.25, "appearance_knn": 0.5, "motion_knn": 0.1}
    other = {**row, "appearance_probe": 0.7}
    table = ablation_table({"0": {"stage1_only": row}, "1": {"stage1_only": other}})
    assert "| stage 1 only | 2 | 60.0 ± 14.1 | 25.0 ± 0.0 |" in table


def test_demo_scale_lists_the_papers_variants() -> None:
    config = ablation.demo(0)
    assert set(config.variants) == {
        "stage2_full", "no_shuffle", "no_global", "no_token", "tube_0.65", "bevt_0.5", "bevt_0.8"
    }  # fmt: skip
    assert config.align and config.retrieval_clips == 500
    assert config.pipeline.stage1.loop.total_steps == 8500  # the demo recipe's own budget


def test_every_variant_has_valid_stage2_overrides() -> None:
    import dataclasses

    base = ablation.config(0).pipeline.stage2
    for overrides in ablation.VARIANTS.values():
        dataclasses.replace(base, **overrides)
