"""Run the stage-2 ablation: per seed, one stage 1, then every stage-2 variant (and, where the scale asks
for it, the alignment after it), each probed frozen; then the table and the verdicts.

    videoprism-train ablation --scale demo --seeds 0 1 2

Results are written after every finished model (`results.json`), and every trainer resumes from its last
checkpoint, so an interrupted ablation continues where it stopped (a finished model is never redone) and a
partial one still reports what finished. `--report-only` re-renders from `results.json`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from training.checkpoint import load_model_checkpoint
from training.configs.ablation import SCALES, VARIANTS, AblationConfig
from training.engine.sources import SyntheticSource, ensure_tokenizer
from training.eval.probe_suite import probe_encoder, reference_levels
from training.eval.report import evaluate_retrieval_runs
from training.model import VideoEncoder, VideoTextModel
from training.stage1 import train_stage1
from training.stage2 import train_stage2


def _encoder(path: Path) -> VideoEncoder:
    model = load_model_checkpoint(path)
    return model.vision_encoder if isinstance(model, VideoTextModel) else model


class _Seed:
    """One seed's run directory: stage 1, then each variant's stage 2 (and alignment), probed."""

    def __init__(self, config: AblationConfig, run: Path, progress: bool) -> None:
        self.config, self.run, self.progress = config, run, progress
        pipe = config.pipeline
        self.tokenizer = ensure_tokenizer(pipe.data, run)
        self.max_length = pipe.stage1.model_config().text.max_length
        self.teacher = run / "stage1" / "model"

    def source(self, batch: int, tokens: bool) -> SyntheticSource:
        tokenizer = self.tokenizer if tokens else None
        return SyntheticSource(self.config.pipeline.data, batch, tokenizer, self.max_length)

    def stage1(self) -> None:
        stage1 = self.config.pipeline.stage1
        train_stage1(
            stage1, self.source(stage1.loop.global_batch, True), self.run / "stage1", resume=True,
            tokenizer=self.tokenizer, progress=self.progress,
        )  # fmt: skip

    def variant(self, name: str) -> tuple[Path, Path]:
        """Train variant `name` (resuming) -> (its encoder checkpoint, its video-text checkpoint)."""
        if name == "stage1_only":
            return self.teacher, self.teacher  # the stage-1 model as trained, its own text tower
        pipe = self.config.pipeline
        stage2 = dataclasses.replace(pipe.stage2, teacher=str(self.teacher), **VARIANTS[name])
        train_stage2(
            stage2, self.source(stage2.loop.global_batch, False), self.run / name, resume=True,
            progress=self.progress,
        )  # fmt: skip
        encoder = self.run / name / "model"
        if not self.config.align:
            return encoder, encoder
        from training.align import train_align

        align = dataclasses.replace(pipe.align, stage1=str(self.teacher), encoder=str(encoder))
        train_align(
            align, self.source(align.loop.global_batch, True), self.run / f"{name}-align", resume=True,
            tokenizer=self.tokenizer, progress=self.progress,
        )  # fmt: skip
        return encoder, self.run / f"{name}-align" / "model"

    def measure(self, encoder: Path, video_text: Path) -> dict[str, float]:
        config = self.config
        metrics = probe_encoder(_encoder(encoder), config.pipeline.data, config.probes)
        if config.retrieval_clips > 0:
            report = evaluate_retrieval_runs(
                {"model": video_text}, self.tokenizer, config.pipeline.data, config.retrieval_clips
            )
            found = report["model"]
            assert isinstance(found, dict)
            metrics.update(found)
        return metrics


def run_ablation(configs: dict[int, AblationConfig], out: Path, progress: bool = False) -> dict[str, Any]:
    """configs: seed -> that seed's config. Returns {seed: {model name: metrics}}."""
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if results_path.exists() else {}
    for seed, config in configs.items():
        per_seed: dict[str, Any] = results.setdefault(str(seed), {})
        names = ("stage1_only", *config.variants)
        if all(name in per_seed for name in names):
            continue
        run = _Seed(config, out / f"seed{seed}", progress)
        run.stage1()
        for name in names:
            if name in per_seed:
                continue
            per_seed[name] = run.measure(*run.variant(name))
            results_path.write_text(json.dumps(results, indent=2) + "\n")
    return results


def levels(config: AblationConfig, out: Path) -> dict[str, float]:
    """Chance and colour-only level of each task on this scale's probe sets (cached in `levels.json`)."""
    path = out / "levels.json"
    if path.exists():
        cached: dict[str, float] = json.loads(path.read_text())
        return cached
    found = reference_levels(config.pipeline.data, config.probes)
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(found, indent=2) + "\n")
    return found
