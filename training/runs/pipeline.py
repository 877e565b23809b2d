"""stage 1 -> stage 2 -> LiT re-alignment -> evaluation, each into its own sub-directory of one run.

Every stage resumes from its own state, so re-running the same command after an interruption continues
where it stopped, and a finished stage is only re-exported.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from training.align import train_align
from training.configs.pipeline import PipelineConfig
from training.engine.distributed import DistInfo
from training.engine.sources import SyntheticSource, ensure_tokenizer
from training.stage1 import train_stage1
from training.stage2 import train_stage2

STAGES = ("stage1", "stage2", "align", "eval")


def run_pipeline(
    config: PipelineConfig,
    out: Path,
    stages: tuple[str, ...] = STAGES,
    info: DistInfo | None = None,
    progress: bool = True,
) -> dict[str, object]:
    info = info or DistInfo()
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = ensure_tokenizer(config.data, out) if info.is_main else out / "tokenizer.model"
    max_length = config.stage1.model_config().text.max_length

    def source(batch: int) -> SyntheticSource:
        return SyntheticSource(config.data, batch, tokenizer, max_length)

    if "stage1" in stages:
        train_stage1(
            config.stage1, source(config.stage1.loop.global_batch), out / "stage1", info,
            resume=True, tokenizer=tokenizer, progress=progress,
        )  # fmt: skip
    stage2 = dataclasses.replace(config.stage2, teacher=str(out / "stage1" / "model"))
    if "stage2" in stages:
        train_stage2(
            stage2, source(stage2.loop.global_batch), out / "stage2", info, resume=True, progress=progress
        )
    align = dataclasses.replace(
        config.align, stage1=str(out / "stage1" / "model"), encoder=str(out / "stage2" / "model")
    )
    if "align" in stages:
        train_align(
            align, source(align.loop.global_batch), out / "align", info, resume=True,
            tokenizer=tokenizer, progress=progress,
        )  # fmt: skip
    results: dict[str, object] = {}
    if "eval" in stages and info.is_main:
        from training.eval.report import evaluate_retrieval_runs

        results = evaluate_retrieval_runs(
            {"stage1": out / "stage1" / "model", "final": out / "align" / "model"},
            tokenizer, config.data, config.eval_clips, config.eval_seed,
        )  # fmt: skip
        (out / "eval.json").write_text(json.dumps(results, indent=2) + "\n")
    return results
