"""The stage-2 ablation of docs/results.md: stage 1 only vs stage-2 variants, probed on frozen features.

Run (regenerates the table and the verdicts in docs/results.md; resumable, results in runs/ablation_demo):
    .venv/bin/videoprism-train ablation --scale demo --seeds 0 1 2
`demo`: per seed one stage-1 run of the demo recipe (training/configs/demo.py), then from that checkpoint
every stage-2 variant with the demo's stage-2 budget, each followed by the demo's alignment so held-out
retrieval is measured too. Smoke variants of the pipeline: `reduced` (500 stage-1 steps, 80 stage-2 steps,
the older variant list; about 12 minutes a seed on an idle 2-core CPU), `mini` (the demo chain in minutes)
and `smoke` (seconds, for tests).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from training.configs import demo as demo_recipe
from training.configs.pipeline import PipelineConfig
from training.eval.probe_suite import ProbeSuiteConfig
from training.eval.probes import ProbeConfig

# variant name -> Stage2Config overrides; "stage1_only" is the stage-1 encoder itself (no stage 2).
DEMO_VARIANTS: dict[str, dict[str, Any]] = {
    "stage2_full": {},
    "no_shuffle": {"shuffle": False},
    "no_global": {"global_branch": False},
    "no_token": {"token_branch": False},
    "tube_0.65": {"mask_kind": "tube"},
    "bevt_0.5": {"mask_ratio": 0.5},
    "bevt_0.8": {"mask_ratio": 0.8},
}
# The variants of the committed reduced-scale table.
REDUCED_VARIANTS: dict[str, dict[str, Any]] = {
    "stage2_full": {},
    "no_shuffle": {"shuffle": False},
    "no_global": {"global_branch": False},
    "tube_0.65": {"mask_kind": "tube"},
    "bevt_0.55": {"mask_ratio": 0.55},
    "bevt_0.75": {"mask_ratio": 0.75},
    "bevt_0.85": {"mask_ratio": 0.85},
}
VARIANTS: dict[str, dict[str, Any]] = {**REDUCED_VARIANTS, **DEMO_VARIANTS}


@dataclass(frozen=True)
class AblationConfig:
    pipeline: PipelineConfig  # stage 1 and the stage-2 base config (BEVT 0.65, shuffle, both branches)
    probes: ProbeSuiteConfig
    variants: tuple[str, ...] = tuple(REDUCED_VARIANTS)
    align: bool = False  # re-align each stage-2 encoder (the pipeline's align stage) and measure retrieval
    retrieval_clips: int = 0  # held-out clips for retrieval; 0: no retrieval


def _steps(config: PipelineConfig, stage1: int, stage2: int, batch: int) -> PipelineConfig:
    def loop(cfg: Any, steps: int) -> Any:
        warm = max(1, steps // 20)
        return dataclasses.replace(cfg.loop, total_steps=steps, warmup_steps=warm, global_batch=batch)

    return dataclasses.replace(
        config,
        stage1=dataclasses.replace(config.stage1, loop=loop(config.stage1, stage1)),
        stage2=dataclasses.replace(config.stage2, loop=loop(config.stage2, stage2)),
    )


def _linear_stem(config: PipelineConfig) -> PipelineConfig:
    """The demo recipe on plain `tiny` (linear patchify): the committed reduced table was measured with it,
    before the demo moved to the convolutional stem, and this keeps its generating command reproducing it."""
    return dataclasses.replace(config, stage1=dataclasses.replace(config.stage1, model="tiny"))


def demo(seed: int = 0) -> AblationConfig:
    """The demo recipe as it is (conv stem, 8500 stage-1 steps, 400 stage-2 and 600 alignment steps per
    variant), the default probe sets (1000 clips of training combos to fit, 500 of held-out combos to score)
    and held-out retrieval on 500 clips."""
    return AblationConfig(
        pipeline=demo_recipe.config(seed),
        probes=ProbeSuiteConfig(),
        variants=tuple(DEMO_VARIANTS),
        align=True,
        retrieval_clips=500,
    )


def config(seed: int = 0) -> AblationConfig:
    """The older `full` scale: the demo budget on the linear-patchify `tiny` (superseded by `demo`)."""
    return AblationConfig(pipeline=_linear_stem(demo_recipe.config(seed)), probes=ProbeSuiteConfig())


def reduced(seed: int = 0) -> AblationConfig:
    """500 stage-1 steps (about a seventeenth of the demo's), 80 stage-2 steps per variant, smaller probe
    sets: the smoke variant of the ablation, where every probe sits near the colour-only level."""
    probes = ProbeSuiteConfig(train_clips=600, test_clips=300, probe=ProbeConfig(steps=200))
    return AblationConfig(pipeline=_steps(_linear_stem(demo_recipe.config(seed)), 500, 80, 32), probes=probes)


def mini(seed: int = 0) -> AblationConfig:
    """The whole demo-scale chain (conv stem, alignment, retrieval, every metric) in minutes on a loaded
    2-core host: 200 stage-1 steps, 40 stage-2 and 40 alignment steps, two variants, small probe sets. It
    proves the pipeline; its model barely starts to learn, so its numbers test nothing of the paper."""
    pipe = _steps(demo_recipe.config(seed), 200, 40, 32)
    align = dataclasses.replace(pipe.align.loop, total_steps=40, warmup_steps=2)
    return AblationConfig(
        pipeline=dataclasses.replace(pipe, align=dataclasses.replace(pipe.align, loop=align)),
        probes=ProbeSuiteConfig(train_clips=300, test_clips=200, probe=ProbeConfig(steps=100)),
        variants=("stage2_full", "no_global"),
        align=True,
        retrieval_clips=200,
    )


def smoke(seed: int = 0) -> AblationConfig:
    """Seconds: the micro model, 2 steps a stage, two variants, alignment and retrieval on 16 clips."""
    probes = ProbeSuiteConfig(train_clips=24, test_clips=16, probe=ProbeConfig(steps=3, batch=8))
    return AblationConfig(
        pipeline=demo_recipe.smoke(seed),
        probes=probes,
        variants=("stage2_full", "no_shuffle"),
        align=True,
        retrieval_clips=16,
    )


SCALES = {"demo": demo, "full": config, "reduced": reduced, "mini": mini, "smoke": smoke}
