"""Stage 1: video-text contrastive training (video encoder + MAP pooler vs text tower)."""

from training.stage1.task import Stage1Config, Stage1Task, train_stage1

__all__ = ["Stage1Config", "Stage1Task", "train_stage1"]
