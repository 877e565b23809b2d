"""The per-stage subcommands on the smoke config: stage1 -> stage2 (an ablation flag) -> align -> eval."""

from __future__ import annotations

import json
from pathlib import Path

from training.cli import main
from training.engine.metrics import read_metrics


def test_stage_commands_chain(tmp_path: Path) -> None:
    s1, s2, lit = tmp_path / "s1", tmp_path / "s2", tmp_path / "lit"
    assert main(["stage1", "--out", str(s1), "--smoke"]) == 0
    teacher = str(s1 / "model")
    assert main(["stage2", "--out", str(s2), "--smoke", "--teacher", teacher, "--no-global"]) == 0
    config = read_metrics(s2 / "metrics.jsonl")[0]["config"]
    assert config["global_branch"] is False and config["shuffle"] is True
    assert (
        main(["align", "--out", str(lit), "--smoke", "--stage1", teacher, "--encoder", str(s2 / "model")])
        == 0
    )
    out = tmp_path / "eval.json"
    assert (
        main(["eval", "--model", str(lit / "model"), "--clips", "12", "--no-probes", "--out", str(out)]) == 0
    )
    retrieval = json.loads(out.read_text())["retrieval"]
    assert retrieval["num_clips"] == 12 and "t2v_R@5" in retrieval["model"]


def test_stage1_study_script_trains_and_reports_attribute_matches(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "scripts" / "stage1_study.py"
    args = ["--out", str(tmp_path), "--steps", "2", "--batch", "4", "--warmup", "1", "--eval-clips", "8"]
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    study = json.loads((tmp_path / "study.json").read_text())
    assert study["num_items"] == 8.0
    for name in ("colour", "shape", "motion"):
        assert 0.0 <= study[f"top1_same_{name}"] <= 1.0
    assert read_metrics(tmp_path / "stage1" / "metrics.jsonl")[0]["config"]["pooler_logit_gain"] == 8.0
