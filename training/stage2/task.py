"""Stage 2 training: student = copy of the stage-1 encoder, teacher = frozen stage-1 encoder + MAP.

Loss = token-wise cosine distance at every position + global cosine distance, 1:1. Every component is a
config switch so the ablations (no shuffle, no global branch, tube masking, mask ratios) are config files.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from training.checkpoint import load_model_checkpoint, save_model_checkpoint
from training.engine.batch import BatchSource, ClipBatch
from training.engine.distributed import DistInfo
from training.engine.loop import LoopConfig, run_training
from training.engine.seeds import step_seed
from training.engine.sources import SyntheticDataConfig
from training.losses import DistillationLoss
from training.masking import make_masking, random_permutation
from training.model import VideoTextModel
from training.stage2.model import Stage2Model
from training.stage2.teacher import FrozenTeacher


@dataclass(frozen=True)
class Stage2Config:
    loop: LoopConfig
    teacher: str = ""  # stage-1 model checkpoint directory (run_dir/model)
    mask_kind: Literal["bevt", "tube", "random"] = "bevt"
    mask_ratio: float = 0.65
    shuffle: bool = True
    token_branch: bool = True
    global_branch: bool = True
    token_weight: float = 1.0
    global_weight: float = 1.0
    decoder_width: int = 64
    decoder_layers: int = 4
    decoder_heads: int = 2
    seed: int = 0
    data: SyntheticDataConfig = field(default_factory=SyntheticDataConfig)


class Stage2Task:
    def __init__(self, config: Stage2Config, stage1: VideoTextModel) -> None:
        self.config = config
        self.teacher = FrozenTeacher(copy.deepcopy(stage1))
        video = stage1.config.video
        self.grid = video.image_size // video.patch_size
        num_tokens = video.num_frames * self.grid * self.grid
        torch.manual_seed(config.seed)  # decoder initialisation is a function of the seed
        student = copy.deepcopy(stage1.vision_encoder)
        student.set_grad_checkpointing(config.loop.grad_checkpointing)
        for param in student.parameters():
            param.requires_grad_(True)
        self.trainable = Stage2Model(
            student, num_tokens, config.decoder_width, config.decoder_layers, config.decoder_heads,
            token_branch=config.token_branch, global_branch=config.global_branch,
        )  # fmt: skip
        self.loss = DistillationLoss(config.token_weight, config.global_weight)

    def losses(self, batch: ClipBatch, step: int, info: DistInfo) -> dict[str, torch.Tensor]:
        frames = batch.video()
        b, t = frames.shape[:2]
        # Masks and permutations are drawn for the global batch and sliced: N ranks == one process.
        total = b * info.world_size
        rows = slice(info.rank * b, (info.rank + 1) * b)
        cfg = self.config
        full = make_masking(
            cfg.mask_kind, total, t, self.grid, cfg.mask_ratio, step_seed(cfg.seed, step, "mask")
        )
        masking = dataclasses.replace(
            full, ids_keep=full.ids_keep[rows], ids_restore=full.ids_restore[rows], mask=full.mask[rows]
        )
        perm = None
        if cfg.shuffle:
            generator = torch.Generator().manual_seed(step_seed(cfg.seed, step, "shuffle"))
            perm = random_permutation(total, masking.mask.shape[1], generator)[rows]
        target_tokens, target_global = self.teacher(frames)
        token_pred, global_pred = self.trainable(frames, masking, perm)
        return self.loss(token_pred, target_tokens, global_pred, target_global, mask=masking.mask)

    def export(self, directory: Path) -> None:
        """The stage-2 encoder alone, as a video-encoder checkpoint (the released 'video encoder' kind)."""
        save_model_checkpoint(
            directory,
            self.trainable.encoder,
            metadata={"stage": "stage2", "config": dataclasses.asdict(self.config)},
        )


def load_teacher(path: str | Path) -> VideoTextModel:
    model = load_model_checkpoint(path)
    if not isinstance(model, VideoTextModel):
        raise ValueError(f"{path}: the stage-2 teacher must be a stage-1 video-text checkpoint")
    return model


def train_stage2(
    config: Stage2Config,
    source: BatchSource,
    run_dir: str | Path,
    info: DistInfo | None = None,
    resume: bool = False,
    stop_after: int | None = None,
    stage1: VideoTextModel | None = None,
    progress: bool = True,
) -> dict[str, float]:
    task = Stage2Task(config, stage1 if stage1 is not None else load_teacher(config.teacher))
    return run_training(
        task, source, config.loop, run_dir, dataclasses.asdict(config), info, resume, stop_after, progress
    )
