"""The frozen stage-2 teacher stays in eval mode, gets no gradient and is outside the optimizer."""

from __future__ import annotations

import torch

from tests.training.helpers import RandomSource, tiny_loop
from training.configs.models import micro
from training.engine.distributed import DistInfo
from training.model import VideoTextModel
from training.stage2 import FrozenTeacher, Stage2Config, Stage2Task


def test_teacher_ignores_train_and_needs_no_grad() -> None:
    teacher = FrozenTeacher(VideoTextModel(micro()))
    teacher.train()
    assert not teacher.training and all(not m.training for m in teacher.modules())
    assert all(not p.requires_grad for p in teacher.parameters())
    tokens, pooled = teacher(torch.rand(2, 4, 32, 32, 3))
    assert not tokens.requires_grad and not pooled.requires_grad
    assert tokens.shape == (2, 64, 32) and pooled.shape == (2, 32)


def test_a_training_step_leaves_the_teacher_unchanged_and_outside_the_trainable_set() -> None:
    stage1 = VideoTextModel(micro())
    task = Stage2Task(Stage2Config(loop=tiny_loop(), decoder_width=16, decoder_heads=2), stage1)
    before = {k: v.clone() for k, v in task.teacher.state_dict().items()}
    trainable_ids = {id(p) for p in task.trainable.parameters()}
    assert not trainable_ids & {id(p) for p in task.teacher.parameters()}
    task.trainable.train()
    terms = task.losses(RandomSource(4).global_batch(0), 0, DistInfo())
    (terms["token_loss"] + terms["global_loss"]).backward()
    assert all(p.grad is None for p in task.teacher.parameters())
    assert not task.teacher.training
    for key, value in task.teacher.state_dict().items():
        assert torch.equal(value, before[key])
    # The student starts as an exact copy of the stage-1 encoder but is a separate tensor.
    for (name, p), q in zip(
        task.trainable.encoder.named_parameters(), stage1.vision_encoder.parameters(), strict=True
    ):
        assert torch.equal(p, q) and p.data_ptr() != q.data_ptr(), name
