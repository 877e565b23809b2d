"""Run the stage-2 ablation: per seed, one stage 1, then every stage-2 variant, each probed frozen.

Results are written after every finished model (`results.json`), and every run resumes from its state, so an
interrupted ablation continues and a partial one still reports what finished.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from training.checkpoint import load_model_checkpoint
from training.configs.ablation import VARIANTS, AblationConfig
from training.engine.sources import SyntheticSource, ensure_tokenizer
from training.eval.probe_suite import probe_encoder
from training.model import VideoEncoder, VideoTextModel
from training.stage1 import train_stage1
from training.stage2 import train_stage2


def _encoder(path: Path) -> VideoEncoder:
    model = load_model_checkpoint(path)
    return model.vision_encoder if isinstance(model, VideoTextModel) else model


def run_ablation(configs: dict[int, AblationConfig], out: Path, progress: bool = False) -> dict[str, Any]:
    """configs: seed -> that seed's config. Returns {seed: {model name: probe metrics}}."""
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if results_path.exists() else {}
    for seed, config in configs.items():
        pipe = config.pipeline
        run = out / f"seed{seed}"
        per_seed: dict[str, Any] = results.setdefault(str(seed), {})
        tokenizer = ensure_tokenizer(pipe.data, run)
        max_length = pipe.stage1.model_config().text.max_length
        source = SyntheticSource(pipe.data, pipe.stage1.loop.global_batch, tokenizer, max_length)
        train_stage1(pipe.stage1, source, run / "stage1", resume=True, tokenizer=tokenizer, progress=progress)
        teacher = run / "stage1" / "model"
        if "stage1_only" not in per_seed:
            per_seed["stage1_only"] = probe_encoder(_encoder(teacher), pipe.data, config.probes)
            results_path.write_text(json.dumps(results, indent=2) + "\n")
        for name in config.variants:
            if name in per_seed:
                continue
            stage2 = dataclasses.replace(pipe.stage2, teacher=str(teacher), **VARIANTS[name])
            source2 = SyntheticSource(pipe.data, stage2.loop.global_batch, None, max_length)
            train_stage2(stage2, source2, run / name, resume=True, progress=progress)
            per_seed[name] = probe_encoder(_encoder(run / name / "model"), pipe.data, config.probes)
            results_path.write_text(json.dumps(results, indent=2) + "\n")
    return results
