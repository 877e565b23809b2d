"""The `tiny` demo model the service uses by default: stage 1 -> stage 2 -> LiT re-alignment.

Run (272k + 12.8k + 19.2k clip-steps; wall time and retrieval per run in docs/results.md, "Demo model"):
    videoprism-train demo --out runs/demo --seed 0
Smoke variant (seconds, used by tests): `smoke(seed)`.
"""

from __future__ import annotations

import dataclasses

from training.align import AlignConfig
from training.configs.models import micro
from training.configs.pipeline import PipelineConfig
from training.engine.loop import LoopConfig
from training.engine.sources import SyntheticDataConfig
from training.model import VideoTextConfig, presets
from training.stage1 import Stage1Config
from training.stage2 import Stage2Config


def demo_model() -> VideoTextConfig:
    """`tiny` with the convolutional patch stem: the linear 16x16 patchify learns the shape and motion
    of small objects too slowly for this budget (docs/results.md, "the patch stem")."""
    tiny = presets["tiny"]
    assert isinstance(tiny, VideoTextConfig)
    return dataclasses.replace(tiny, video=dataclasses.replace(tiny.video, patch_stem="conv"))


def config(seed: int = 0) -> PipelineConfig:
    data = SyntheticDataConfig(seed=seed)
    stage1 = Stage1Config(
        loop=LoopConfig(
            total_steps=8500, global_batch=32, peak_lr=1e-3, warmup_steps=50, decay="cosine", final_lr=1e-5,
            weight_decay=1e-4, adam_beta2=0.98, log_every=10, checkpoint_every=250,
        ),
        model=demo_model(),
        # Tube token-drop makes a step 1.5x faster, but on a 4x4 token grid it often hides the small
        # object itself: at equal time it learnt far slower (docs/results.md), so every token is kept.
        token_drop=0.0,
        pooler_logit_gain=8.0,
        seed=seed,
        data=data,
    )  # fmt: skip
    stage2 = Stage2Config(
        loop=LoopConfig(
            total_steps=400, global_batch=32, peak_lr=5e-4, warmup_steps=40, decay="cosine", final_lr=1e-5,
            weight_decay=0.05, adam_beta2=0.98, log_every=10, checkpoint_every=200,
        ),
        mask_kind="bevt", mask_ratio=0.65, seed=seed, data=data,
    )  # fmt: skip
    align = AlignConfig(
        loop=LoopConfig(
            total_steps=600, global_batch=32, peak_lr=5e-4, warmup_steps=40, decay="cosine", final_lr=1e-5,
            weight_decay=1e-4, adam_beta2=0.98, log_every=10, checkpoint_every=200,
        ),
        # The towers arrive trained at stage 1's sharp temperature, and the stage-1 text tower stays as it
        # is: restarting at 0.07 and retraining the text side cost retrieval even on the stage-1 encoder
        # itself (docs/results.md).
        temperature_from_stage1=True,
        train_text_tower=False,
        seed=seed, data=data,
    )  # fmt: skip
    return PipelineConfig(data=data, stage1=stage1, stage2=stage2, align=align, eval_clips=500)


def smoke(seed: int = 0) -> PipelineConfig:
    """The same pipeline on the micro model: 2 steps per stage, 16 evaluation clips."""
    full = config(seed)
    small_loop = LoopConfig(total_steps=2, global_batch=4, peak_lr=1e-3, warmup_steps=1, log_every=1)
    data = dataclasses.replace(full.data, tokenizer_corpus=2000, tokenizer_vocab=64)
    return PipelineConfig(
        data=data,
        stage1=dataclasses.replace(full.stage1, loop=small_loop, model=micro(8, 64), data=data),
        stage2=dataclasses.replace(
            full.stage2, loop=small_loop, decoder_width=16, decoder_heads=2, decoder_layers=1, data=data
        ),
        align=dataclasses.replace(full.align, loop=small_loop, data=data),
        eval_clips=16,
    )
