"""The config of one stage 1 -> stage 2 -> align -> eval run (`training.runs.pipeline.run_pipeline`)."""

from __future__ import annotations

from dataclasses import dataclass

from training.align import AlignConfig
from training.engine.sources import SyntheticDataConfig
from training.stage1 import Stage1Config
from training.stage2 import Stage2Config


@dataclass(frozen=True)
class PipelineConfig:
    data: SyntheticDataConfig
    stage1: Stage1Config
    stage2: Stage2Config
    align: AlignConfig
    eval_clips: int = 500  # held-out clips (unseen appearance x motion combos) for retrieval
    eval_seed: int = 0
