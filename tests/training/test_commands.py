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
