"""The demo command end to end on the smoke config: real synthetic data, every stage, evaluation."""

from __future__ import annotations

import json
from pathlib import Path

from training.checkpoint import load_model_checkpoint, tokenizer_path
from training.cli import main
from training.model import VideoEncoder, VideoTextModel


def test_demo_smoke_trains_every_stage_evaluates_and_probes(tmp_path: Path) -> None:
    assert main(["demo", "--out", str(tmp_path), "--smoke", "--no-progress"]) == 0
    results = json.loads((tmp_path / "eval.json").read_text())
    assert results["num_clips"] == 16 and 0.0 <= results["final"]["t2v_R@5"] <= 1.0
    assert isinstance(load_model_checkpoint(tmp_path / "stage2" / "model"), VideoEncoder)
    final = load_model_checkpoint(tmp_path / "align" / "model")
    assert isinstance(final, VideoTextModel) and tokenizer_path(tmp_path / "align" / "model") is not None
    # The aligned model carries the stage-2 encoder unchanged (alignment locks it).
    stage2 = load_model_checkpoint(tmp_path / "stage2" / "model").state_dict()
    for key, value in final.vision_encoder.state_dict().items():
        assert (value == stage2[key]).all(), key

    out = tmp_path / "probe.json"
    args = ["eval", "--model", str(tmp_path / "stage2" / "model"), "--out", str(out), "--probe-steps", "5"]
    assert main([*args, "--probe-train", "32", "--probe-test", "16"]) == 0
    probes = json.loads(out.read_text())["probes"]
    assert set(probes) == {
        "appearance_probe",
        "motion_probe",
        "appearance_knn",
        "motion_knn",
        "temporal_probe",
        "temporal_knn",
    }
    assert all(0.0 <= value <= 1.0 for value in probes.values())
