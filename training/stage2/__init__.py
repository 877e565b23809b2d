"""Stage 2: masked video modelling with token-wise and global distillation from the frozen stage-1 model."""

from training.stage2.model import Stage2Model
from training.stage2.task import Stage2Config, Stage2Task, train_stage2
from training.stage2.teacher import FrozenTeacher

__all__ = ["FrozenTeacher", "Stage2Config", "Stage2Model", "Stage2Task", "train_stage2"]
