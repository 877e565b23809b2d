"""The diagnostic subcommands (once loose scripts) on tiny settings: they run, print and write what they say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.cli import main
from training.engine.metrics import read_metrics

DEMO_BUNDLE = Path(__file__).resolve().parents[2] / "service" / "demo_bundle"


def test_stage1_study_then_retrieval_diagnosis(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study_args = [
        "--out",
        str(tmp_path),
        "--steps",
        "2",
        "--batch",
        "4",
        "--warmup",
        "1",
        "--eval-clips",
        "8",
    ]
    assert main(["stage1-study", *study_args]) == 0
    study = json.loads((tmp_path / "study.json").read_text())
    assert study["num_items"] == 8.0
    for name in ("colour", "shape", "motion"):
        assert 0.0 <= study[f"top1_same_{name}"] <= 1.0
    assert read_metrics(tmp_path / "stage1" / "metrics.jsonl")[0]["config"]["pooler_logit_gain"] == 8.0

    # The tokenizer is found two levels above the model (runs/<name>/tokenizer.model), as the demo lays it out.
    report = tmp_path / "diagnosis.json"
    model = tmp_path / "stage1" / "model"
    assert main(["diagnose-retrieval", "--model", str(model), "--splits", "heldout", "--clips", "8",
                 "--out", str(report)]) == 0  # fmt: skip
    heldout = json.loads(report.read_text())["heldout"]
    assert 0.0 <= heldout["t2v_R@5"] <= 1.0 and set(heldout["confusions"]) == {"colour", "shape", "motion"}
    assert "heldout: t2v R@1" in capsys.readouterr().out


def test_retrieval_diagnosis_names_a_missing_tokenizer(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"no tokenizer\.model next to"):
        main(["diagnose-retrieval", "--model", str(tmp_path / "model")])


def test_learnability_prints_accuracy_per_head(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["learnability", "--encoder", "cnn-frame", "--steps", "2", "--every", "2", "--batch", "128"])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines if line.startswith("step")] == ["0", "2"]
    accuracy = float(lines[-2].split("shape")[1].split()[0])
    assert 0.0 <= accuracy <= 1.0 and "encoder cnn-frame" in lines[-1]


def test_temporal_check_on_the_demo_bundle(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["temporal-check", "--bundle", str(DEMO_BUNDLE), "--train", "40", "--test", "20", "--k", "3"])
        == 0
    )
    out = capsys.readouterr().out
    assert "temporal k-NN (k=3, 40 fit / 20 scored clips)" in out and "chance 50 %" in out
