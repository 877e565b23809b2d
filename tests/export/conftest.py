"""Fixtures: one seeded random `tiny` checkpoint and its fp32 bundle, exported once per session via the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from training.checkpoint import save_model_checkpoint
from training.cli import main as cli_main
from training.export.demo_tokenizer import train_tokenizer
from training.model import VideoTextModel, build_model, presets


@dataclass(frozen=True)
class ExportedTiny:
    model: VideoTextModel
    checkpoint: Path
    bundle: Path


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory: pytest.TempPathFactory) -> ExportedTiny:
    root = tmp_path_factory.mktemp("tiny_export")
    torch.manual_seed(1)
    model = build_model(presets["tiny"]).eval()
    assert isinstance(model, VideoTextModel)
    tokenizer = train_tokenizer(root / "tok" / "tokenizer.model", vocab_size=model.config.text.vocab_size)
    checkpoint = save_model_checkpoint(
        root / "ckpt", model, metadata={"model_name": "tiny-test"}, tokenizer_file=tokenizer
    )
    bundle = root / "bundle"
    assert cli_main(["export", "--checkpoint", str(checkpoint), "--out", str(bundle)]) == 0
    return ExportedTiny(model=model, checkpoint=checkpoint, bundle=bundle)
