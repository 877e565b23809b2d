"""Stage 1: symmetric InfoNCE between MAP-pooled video embeddings and text embeddings.

With `token_drop` > 0 a tube mask hides that fraction of each clip's patches (the same patches in every
frame, FLIP-style); only the visible patches enter the encoder's transformers (`keep_patches`) and the
pooler pools only them, so a 0.5 drop halves the transformer work (the patch stem still sees every pixel).
The visible count is static, so shapes never change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from training.checkpoint import save_model_checkpoint
from training.engine.batch import BatchSource, ClipBatch
from training.engine.distributed import DistInfo
from training.engine.loop import LoopConfig, run_training
from training.engine.seeds import step_seed
from training.engine.sources import SyntheticDataConfig
from training.losses import ContrastiveLoss
from training.masking import make_masking
from training.model import VideoTextConfig, VideoTextModel, presets
from training.stage1.foils import caption_losses


@dataclass(frozen=True)
class Stage1Config:
    loop: LoopConfig
    model: str | VideoTextConfig = "tiny"  # a video-text preset name, or a config
    token_drop: float = 0.5  # fraction of patches hidden by a tube mask; 0 disables
    # > 0: drop tokens only in steps [0, token_drop_until) and train on every token after, so the model
    # ends on the inputs it is served (FLIP's unmasked tuning). 0: drop in every step.
    token_drop_until: int = 0
    init_temperature: float = 0.07
    # A fresh text tower's class token outweighs the attention over the caption ~25:1 at init, so every
    # caption starts with the same embedding (pairwise cosine 0.9999 on tiny) and training sits on a
    # plateau at ln(B) for tens of steps. Zeroing it makes the embedding start as attention over the
    # caption's tokens (cosine ~0.64 between captions). Ignored when a model is passed in.
    zero_text_class_token: bool = True
    # > 0: start the MAP pooler with sharp attention (AttentionPooler.sharpen_init) instead of the official
    # near-uniform init, under which the pooled embedding of a small object is mostly background and
    # stage 1 sits at ln(B) for hundreds of steps. 0 keeps the official init. Ignored when a model is passed.
    pooler_logit_gain: float = 8.0
    # > 0: re-draw the temporal position embedding with this std. The official 0.02 is 2 % of the
    # LayerNormed spatial tokens it is added to, and the demo model's commonest motion errors are time
    # reversals (left/right, approach/separate). On the demo recipe 0.5 trained slower (docs/results.md),
    # so it is off. 0 keeps the official init. Ignored when a model is passed in.
    temporal_pos_std: float = 0.0
    seed: int = 0
    data: SyntheticDataConfig = field(default_factory=SyntheticDataConfig)

    def model_config(self) -> VideoTextConfig:
        config = presets[self.model] if isinstance(self.model, str) else self.model
        if not isinstance(config, VideoTextConfig):
            raise ValueError(f"stage 1 needs a video-text preset, {self.model!r} is video-only")
        return config


class Stage1Task:
    def __init__(
        self, config: Stage1Config, model: VideoTextModel | None = None, tokenizer: Path | None = None
    ):
        self.config = config
        torch.manual_seed(config.seed)  # initial weights are a function of the seed
        if model is None:
            model = VideoTextModel(config.model_config())
            if config.zero_text_class_token:
                with torch.no_grad():
                    model.text_encoder.cls_emb.zero_()
            if config.pooler_logit_gain > 0:
                model.contrastive_vision_pooler.sharpen_init(config.pooler_logit_gain)
            if config.temporal_pos_std > 0:
                with torch.no_grad():
                    model.vision_encoder.temporal_pos_emb.normal_(std=config.temporal_pos_std)
        self.model = model
        self.model.vision_encoder.set_grad_checkpointing(config.loop.grad_checkpointing)
        self.loss = ContrastiveLoss(config.init_temperature)
        self.trainable = nn.ModuleDict({"model": self.model, "loss": self.loss})
        self.tokenizer = tokenizer

    def embed_video(self, batch: ClipBatch, step: int, info: DistInfo) -> torch.Tensor:
        frames = batch.video()
        encoder = self.model.vision_encoder
        until = self.config.token_drop_until
        if self.config.token_drop <= 0 or (until > 0 and step >= until):
            return self.model.pool_tokens(encoder(frames))
        b, t = frames.shape[:2]
        grid = frames.shape[2] // encoder.config.patch_size
        # The mask is drawn for the whole global batch and sliced, so N ranks draw what one process would.
        seed = step_seed(self.config.seed, step, "stage1-token-drop")
        masking = make_masking("tube", b * info.world_size, t, grid, self.config.token_drop, seed)
        rows = slice(info.rank * b, (info.rank + 1) * b)
        # A tube keeps the same K patches in every frame and ids_keep is time-major, so frame 0's entries
        # are the patch indices; the encoder then runs on K tokens per frame instead of masking N - K.
        patches_kept = masking.ids_keep.shape[1] // t
        tokens = encoder(frames, keep_patches=masking.ids_keep[rows, :patches_kept])
        return self.model.pool_tokens(tokens)

    def losses(self, batch: ClipBatch, step: int, info: DistInfo) -> dict[str, torch.Tensor]:
        if batch.token_ids is None or batch.paddings is None:
            raise ValueError("stage 1 needs tokenised captions")
        return caption_losses(self.model, self.loss, self.embed_video(batch, step, info), batch)

    def export(self, directory: Path) -> None:
        save_model_checkpoint(
            directory,
            self.model,
            metadata={
                "stage": "stage1",
                "config": dataclasses.asdict(self.config),
                "temperature": self.loss.temperature(),
            },
            tokenizer_file=self.tokenizer,
        )


def train_stage1(
    config: Stage1Config,
    source: BatchSource,
    run_dir: str | Path,
    info: DistInfo | None = None,
    resume: bool = False,
    stop_after: int | None = None,
    tokenizer: Path | None = None,
    progress: bool = True,
) -> dict[str, float]:
    task = Stage1Task(config, tokenizer=tokenizer)
    return run_training(
        task, source, config.loop, run_dir, dataclasses.asdict(config), info, resume, stop_after, progress
    )
