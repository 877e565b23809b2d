"""End-to-end smoke runs of stage 1 and stage 2, checkpoints, and bit-for-bit resume."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.training.helpers import RandomSource, tiny_loop
from training.checkpoint import load_model_checkpoint
from training.configs.models import micro
from training.engine.distributed import DistInfo
from training.engine.metrics import read_metrics
from training.model import VideoEncoder, VideoTextModel
from training.stage1 import Stage1Config, Stage1Task, train_stage1
from training.stage2 import Stage2Config, train_stage2


def _stage1(steps: int, **kw: object) -> Stage1Config:
    return Stage1Config(loop=tiny_loop(steps, **kw), model=micro(), token_drop=0.5)  # type: ignore[arg-type]


def test_stage1_trains_logs_and_writes_a_loadable_checkpoint(tmp_path: Path) -> None:
    source = RandomSource(batch=16)
    train_stage1(_stage1(8, peak_lr=3e-3), source, tmp_path, progress=False)
    log = read_metrics(tmp_path / "metrics.jsonl")
    assert log[0]["event"] == "start"
    steps = [r for r in log if "contrastive_loss" in r]
    assert [r["step"] for r in steps] == list(range(1, 9))
    assert all(math.isfinite(r["loss"]) and r["clips_per_s"] > 0 for r in steps)
    model = load_model_checkpoint(tmp_path / "model")
    assert isinstance(model, VideoTextModel)
    torch.manual_seed(0)
    fresh = VideoTextModel(micro())  # the trainer's seed-0 initial weights
    moved = [
        not torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), fresh.state_dict().values(), strict=True)
    ]
    assert sum(moved) > len(moved) // 2
    batch = source.global_batch(0)
    assert model.encode_video(batch.video()).shape == (16, 32)


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "state" / "trainable.safetensors"))


def test_stage1_resume_is_bit_for_bit(tmp_path: Path) -> None:
    source = RandomSource(batch=8)
    config = _stage1(6)
    train_stage1(config, source, tmp_path / "straight", progress=False)
    train_stage1(config, source, tmp_path / "resumed", stop_after=3, progress=False)
    train_stage1(config, source, tmp_path / "resumed", resume=True, progress=False)
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def _stage2(teacher: Path, steps: int, **kw: object) -> Stage2Config:
    return Stage2Config(
        loop=tiny_loop(steps),
        teacher=str(teacher),
        decoder_width=16,
        decoder_heads=2,
        decoder_layers=1,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def stage1_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("stage1")
    train_stage1(_stage1(2), RandomSource(batch=8), run, progress=False)
    return run / "model"


def test_stage2_learns_and_exports_the_student_encoder(tmp_path: Path, stage1_checkpoint: Path) -> None:
    config = Stage2Config(
        loop=tiny_loop(25, peak_lr=3e-3), teacher=str(stage1_checkpoint), decoder_width=16, decoder_heads=2
    )
    train_stage2(config, RandomSource(batch=8), tmp_path, progress=False)
    log = [r for r in read_metrics(tmp_path / "metrics.jsonl") if "token_loss" in r]
    assert log[-1]["token_loss"] < log[0]["token_loss"]
    assert log[-1]["global_loss"] < log[0]["global_loss"]
    encoder = load_model_checkpoint(tmp_path / "model")
    assert isinstance(encoder, VideoEncoder)


@pytest.mark.parametrize(
    ("overrides", "keys"),
    [
        ({"shuffle": False}, {"token_loss", "global_loss"}),
        ({"global_branch": False}, {"token_loss"}),
        ({"token_branch": False}, {"global_loss"}),
        ({"mask_kind": "tube", "mask_ratio": 0.85}, {"token_loss", "global_loss"}),
    ],
)
def test_stage2_ablation_switches(
    tmp_path: Path, stage1_checkpoint: Path, overrides: dict[str, object], keys: set[str]
) -> None:
    train_stage2(_stage2(stage1_checkpoint, 1, **overrides), RandomSource(batch=4), tmp_path, progress=False)
    record = read_metrics(tmp_path / "metrics.jsonl")[-1]
    assert {k for k in record if k.endswith("_loss")} == keys


def test_stage2_resume_is_bit_for_bit(tmp_path: Path, stage1_checkpoint: Path) -> None:
    source = RandomSource(batch=4)
    config = _stage2(stage1_checkpoint, 4)
    train_stage2(config, source, tmp_path / "straight", progress=False)
    train_stage2(config, source, tmp_path / "resumed", stop_after=2, progress=False)
    train_stage2(config, source, tmp_path / "resumed", resume=True, progress=False)
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_bf16_autocast_step_is_finite_and_fresh_text_class_token_is_zero(tmp_path: Path) -> None:
    from training.stage1 import Stage1Task

    assert float(Stage1Task(_stage1(1)).model.text_encoder.cls_emb.detach().abs().sum()) == 0.0
    train_stage1(_stage1(2, precision="bf16"), RandomSource(batch=8), tmp_path, progress=False)
    record = read_metrics(tmp_path / "metrics.jsonl")[-1]
    assert math.isfinite(record["contrastive_loss"])


def test_temporal_position_init_is_official_by_default_and_redrawn_when_asked() -> None:

    from training.stage1 import Stage1Task

    def temporal_std(config: Stage1Config) -> float:
        return float(Stage1Task(config).model.vision_encoder.temporal_pos_emb.detach().std())

    official = temporal_std(_stage1(1))
    redrawn = temporal_std(dataclasses.replace(_stage1(1), temporal_pos_std=0.5))
    assert 0.01 < official < 0.04
    assert 0.3 < redrawn < 0.7


def test_align_starts_from_the_temperature_stage1_learnt(tmp_path: Path, stage1_checkpoint: Path) -> None:

    from training.align import AlignConfig
    from training.align.task import AlignTask, load_inputs
    from training.checkpoint import read_checkpoint_config, save_model_checkpoint

    learnt = read_checkpoint_config(stage1_checkpoint)[1]["temperature"]
    stage1 = load_model_checkpoint(stage1_checkpoint)
    assert isinstance(stage1, VideoTextModel)
    save_model_checkpoint(tmp_path / "encoder", stage1.vision_encoder)
    config = AlignConfig(loop=tiny_loop(1), stage1=str(stage1_checkpoint), encoder=str(tmp_path / "encoder"))
    model, encoder, temperature = load_inputs(config)
    assert temperature == learnt and 0.0 < learnt < 1.0
    assert learnt != pytest.approx(0.07)  # two steps moved it, so the two starts below differ
    assert AlignTask(config, model, encoder, None, temperature).loss.temperature() == pytest.approx(0.07)
    follows = dataclasses.replace(config, temperature_from_stage1=True)
    assert AlignTask(follows, model, encoder, None, temperature).loss.temperature() == pytest.approx(learnt)
    assert AlignTask(follows, model, encoder, None, None).loss.temperature() == pytest.approx(0.07)


def test_align_with_a_locked_text_tower_moves_only_the_video_side(
    tmp_path: Path, stage1_checkpoint: Path
) -> None:
    from training.align import AlignConfig, train_align
    from training.checkpoint import save_model_checkpoint

    stage1 = load_model_checkpoint(stage1_checkpoint)
    assert isinstance(stage1, VideoTextModel)
    save_model_checkpoint(tmp_path / "encoder", stage1.vision_encoder)
    config = AlignConfig(
        loop=tiny_loop(3, peak_lr=3e-3), stage1=str(stage1_checkpoint), encoder=str(tmp_path / "encoder"),
        train_text_tower=False,
    )  # fmt: skip
    train_align(config, RandomSource(batch=8), tmp_path / "run", progress=False)
    assert not any(key.startswith("text_encoder") for key in _weights(tmp_path / "run"))
    aligned = load_model_checkpoint(tmp_path / "run" / "model")
    assert isinstance(aligned, VideoTextModel)
    before, after = stage1.state_dict(), aligned.state_dict()
    text = [k for k in before if k.startswith("text_encoder.")]
    pooler = [k for k in before if k.startswith("contrastive_vision_pooler.")]
    assert text and all(torch.equal(before[k], after[k]) for k in text)
    assert any(not torch.equal(before[k], after[k]) for k in pooler)


def test_stage1_token_drop_stops_at_token_drop_until() -> None:
    """Before `token_drop_until` the pooled video embedding comes from a subset of patches (it differs from
    the full clip's); from that step on it is the full clip's, exactly."""
    config = Stage1Config(loop=tiny_loop(4), model=micro(), token_drop=0.5, token_drop_until=2)
    task = Stage1Task(config)
    task.model.eval()
    batch = RandomSource(batch=4).global_batch(0)
    with torch.no_grad():
        full = task.model.pool_tokens(task.model.vision_encoder(batch.video()))
        dropped = task.embed_video(batch, 1, DistInfo())
        after = task.embed_video(batch, 2, DistInfo())
    assert not torch.allclose(dropped, full, atol=1e-4)
    assert torch.equal(after, full)


def test_synthetic_foils_reach_the_stage1_and_align_losses(tmp_path: Path, stage1_checkpoint: Path) -> None:
    """Foil captions travel from the synthetic world through the tokenizer and the rank shards into the
    contrastive loss of stage 1 and of alignment, example-major: rows 2b, 2b + 1 are clip b's foils."""
    from training.align import AlignConfig
    from training.align.task import AlignTask, load_inputs
    from training.checkpoint import save_model_checkpoint
    from training.engine.sources import SyntheticDataConfig, SyntheticSource, ensure_tokenizer
    from videoprism_bundle.tokenizer import TextTokenizer

    data = SyntheticDataConfig(tokenizer_corpus=2000, tokenizer_vocab=64, foils=("motion", "shape"))
    tokenizer_file = ensure_tokenizer(data, tmp_path)
    source = SyntheticSource(data, batch=4, tokenizer_file=tokenizer_file, max_length=micro().text.max_length)
    batch = source.global_batch(3)
    assert batch.foil_ids is not None and batch.token_ids is not None and batch.foil_paddings is not None
    assert batch.foil_ids.shape == (8, batch.token_ids.shape[1])
    tokenizer = TextTokenizer(tokenizer_file, max_length=micro().text.max_length)
    expected = tokenizer.encode_batch([foil for b in range(12, 16) for foil in source.dataset.foils_at(b)])
    assert torch.equal(batch.foil_ids, torch.from_numpy(expected.ids))
    second = batch.shard(1, 2)
    assert second.foil_ids is not None and torch.equal(second.foil_ids, batch.foil_ids[4:])
    stage1 = Stage1Task(Stage1Config(loop=tiny_loop(1), model=micro(), token_drop=0.0))
    terms = stage1.losses(batch, 0, DistInfo())
    assert 0.0 <= terms["foil_accuracy"].item() <= 1.0
    plain = stage1.losses(dataclasses.replace(batch, foil_ids=None, foil_paddings=None), 0, DistInfo())
    assert "foil_accuracy" not in plain and terms["contrastive_loss"] > plain["contrastive_loss"]
    trained = load_model_checkpoint(stage1_checkpoint)
    assert isinstance(trained, VideoTextModel)
    save_model_checkpoint(tmp_path / "encoder", trained.vision_encoder)
    config = AlignConfig(loop=tiny_loop(1), stage1=str(stage1_checkpoint), encoder=str(tmp_path / "encoder"))
    model, encoder, temperature = load_inputs(config)
    align_terms = AlignTask(config, model, encoder, None, temperature).losses(batch, 0, DistInfo())
    assert "foil_accuracy" in align_terms
