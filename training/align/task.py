"""Re-alignment (LiT): the stage-2 encoder is locked; the auxiliary layers, MAP pooler and text tower
(unless `train_text_tower=False` locks it too), initialised from the stage-1 model, learn to match it with
the stage-1 contrastive loss.

The result is a full `VideoTextModel` checkpoint (stage-2 encoder + aligned towers), like the released LvT
models, so the service can embed both video and text with the stage-2 encoder.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from training.checkpoint import load_model_checkpoint, read_checkpoint_config, save_model_checkpoint
from training.engine.batch import BatchSource, ClipBatch
from training.engine.distributed import DistInfo
from training.engine.loop import LoopConfig, run_training
from training.engine.sources import SyntheticDataConfig
from training.losses import ContrastiveLoss
from training.model import VideoEncoder, VideoTextModel
from training.stage1.foils import caption_losses


@dataclass(frozen=True)
class AlignConfig:
    loop: LoopConfig
    stage1: str = ""  # stage-1 model checkpoint: initial text tower, auxiliary layers and pooler
    encoder: str = ""  # stage-2 model checkpoint: the locked video encoder
    init_temperature: float = 0.07
    # Start from the temperature stage 1 learnt (its checkpoint's metadata), not init_temperature: the
    # towers arrive trained, and restarting at 0.07 spends the first steps on a softer loss than the one
    # the stage-1 embeddings were shaped by. Falls back to init_temperature when the checkpoint has none.
    # The demo recipe turns it on (docs/results.md has the runs).
    temperature_from_stage1: bool = False
    # Lock the stage-1 text tower too, so only the auxiliary layers and pooler learn (the video side moves
    # to the text side): the text embeddings keep the stage-1 geometry that a short re-alignment at a
    # fresh learning rate otherwise partly undoes. The demo recipe locks it (docs/results.md).
    train_text_tower: bool = True
    seed: int = 0
    data: SyntheticDataConfig = dataclasses.field(default_factory=SyntheticDataConfig)


class AlignTask:
    def __init__(
        self,
        config: AlignConfig,
        stage1: VideoTextModel,
        encoder: VideoEncoder,
        tokenizer: Path | None = None,
        stage1_temperature: float | None = None,
    ):
        self.config = config
        self.tokenizer = tokenizer
        self.model = copy.deepcopy(stage1)
        self.model.vision_encoder = copy.deepcopy(encoder)
        for param in self.model.vision_encoder.parameters():
            param.requires_grad_(False)
        start = stage1_temperature if config.temperature_from_stage1 else None
        self.loss = ContrastiveLoss(start or config.init_temperature)
        # The locked encoder (and a locked text tower) is deliberately not part of the trainable module.
        trainable: dict[str, nn.Module] = {
            "auxiliary_encoder": self.model.auxiliary_encoder,
            "contrastive_vision_pooler": self.model.contrastive_vision_pooler,
            "loss": self.loss,
        }
        if config.train_text_tower:
            trainable["text_encoder"] = self.model.text_encoder
        else:
            for param in self.model.text_encoder.parameters():
                param.requires_grad_(False)
        self.trainable = nn.ModuleDict(trainable)

    def losses(self, batch: ClipBatch, step: int, info: DistInfo) -> dict[str, torch.Tensor]:
        if batch.token_ids is None or batch.paddings is None:
            raise ValueError("alignment needs tokenised captions")
        self.model.vision_encoder.eval()
        if not self.config.train_text_tower:
            self.model.text_encoder.eval()
        with torch.no_grad():
            tokens = self.model.vision_encoder(batch.video())
        return caption_losses(self.model, self.loss, self.model.pool_tokens(tokens), batch)

    def export(self, directory: Path) -> None:
        save_model_checkpoint(
            directory,
            self.model,
            metadata={"stage": "align", "config": dataclasses.asdict(self.config)},
            tokenizer_file=self.tokenizer,
        )


def load_inputs(config: AlignConfig) -> tuple[VideoTextModel, VideoEncoder, float | None]:
    """The stage-1 model, the stage-2 encoder and the temperature stage 1 learnt (None if not recorded)."""
    stage1 = load_model_checkpoint(config.stage1)
    encoder = load_model_checkpoint(config.encoder)
    if not isinstance(stage1, VideoTextModel) or not isinstance(encoder, VideoEncoder):
        raise ValueError("align needs a stage-1 video-text checkpoint and a stage-2 encoder checkpoint")
    temperature = read_checkpoint_config(config.stage1)[1].get("temperature")
    return stage1, encoder, None if temperature is None else float(temperature)


def train_align(
    config: AlignConfig,
    source: BatchSource,
    run_dir: str | Path,
    info: DistInfo | None = None,
    resume: bool = False,
    tokenizer: Path | None = None,
    progress: bool = True,
) -> dict[str, float]:
    stage1, encoder, temperature = load_inputs(config)
    task = AlignTask(config, stage1, encoder, tokenizer, temperature)
    return run_training(
        task, source, config.loop, run_dir, dataclasses.asdict(config), info, resume, None, progress
    )
