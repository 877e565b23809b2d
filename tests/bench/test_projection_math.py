"""FLOP and parameter counts behind the physical-limit and GPU-projection figures, and the peers verdict."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from bench.gpu_projection import clip_flops, params
from bench.loadgen.verdict import best_of_rounds, verdict
from bench.physical_limit import graph_flops
from service.settings import DEMO_BUNDLE
from training.configs.demo import demo_model
from training.model import VideoTextConfig, presets


def test_base_parameter_count_matches_the_released_tree() -> None:
    # 114,365,184: parameters of a checkpoint with the released `base` parameter tree (bench/convert.py).
    assert params("base") == pytest.approx(114_365_184, rel=1e-4)


def test_analytic_flops_agree_with_the_demo_bundle_graph() -> None:
    manifest = json.loads((DEMO_BUNDLE / "manifest.json").read_text())
    t, s = manifest["video"]["num_frames"], manifest["video"]["image_size"]
    frames = np.zeros((1, t, s, s, 3), dtype=np.float32)
    counted = graph_flops(DEMO_BUNDLE / manifest["video_encoder"]["file"], {"frames": frames})
    assert counted == pytest.approx(clip_flops(demo_model())["total"], rel=0.1)


def test_conv_stem_flops_count_each_stride_2_layer() -> None:
    linear = presets["tiny"]
    assert isinstance(linear, VideoTextConfig)
    conv = dataclasses.replace(linear, video=dataclasses.replace(linear.video, patch_stem="conv"))
    # 64x64 frames, channels 24, 48, 96, 96 at 32x32, 16x16, 8x8, 4x4 (2 FLOPs per multiply-add, 3x3 kernels)
    per_frame = 2 * 9 * (32 * 32 * 24 * 3 + 16 * 16 * 48 * 24 + 8 * 8 * 96 * 48 + 4 * 4 * 96 * 96)
    assert clip_flops(conv)["patch_embedding"] == 8 * per_frame
    assert clip_flops(linear)["patch_embedding"] == 2 * 8 * 16 * (16 * 16 * 3) * 96
    assert clip_flops(conv)["spatial"] == clip_flops(linear)["spatial"]
    # "conv4": a 4x4 stride-4 layer to 16x16x24, then 3x3 stride-2 layers to 8x8x48 and 4x4x96.
    conv4 = dataclasses.replace(linear, video=dataclasses.replace(linear.video, patch_stem="conv4"))
    per_frame4 = 2 * (16 * 16 * 24 * 3 * 16 + 9 * (8 * 8 * 48 * 24 + 4 * 4 * 96 * 48))
    assert clip_flops(conv4)["patch_embedding"] == 8 * per_frame4
    # stem_frames=3: only the first layer reads more channels (3 frames x RGB).
    video3 = dataclasses.replace(conv.video, stem_frames=3)
    extra = 2 * 9 * 32 * 32 * 24 * (9 - 3)
    assert clip_flops(dataclasses.replace(conv, video=video3))["patch_embedding"] == 8 * (per_frame + extra)


def _row(server: str, rps: float, p99: float, concurrency: int = 8, rnd: int = 0) -> dict[str, object]:
    return {"server": server, "kind": "text", "door": "http", "concurrency": concurrency,
            "throughput_rps": rps, "p99_ms": p99, "round": rnd}  # fmt: skip


def test_verdict_needs_1_3x_the_best_peer_at_no_higher_p99() -> None:
    met = verdict([_row("videoprism", 260, 50), _row("litserve", 200, 60), _row("ray_serve", 100, 20)])
    assert met["text"]["best_peer"] == "litserve" and met["text"]["goal_met"]
    slow_tail = verdict([_row("videoprism", 300, 70), _row("litserve", 200, 60)])
    assert slow_tail["text"]["ratio_vs_best_peer"] == 1.5 and not slow_tail["text"]["goal_met"]
    # A lower-concurrency cell of ours under the peer's p99 is what "at an equal or lower p99" compares.
    fair = verdict(
        [_row("videoprism", 300, 70, 32), _row("videoprism", 270, 40, 8), _row("litserve", 200, 60)]
    )
    assert fair["text"]["ratio_at_equal_or_lower_p99"] == 1.35 and fair["text"]["goal_met"]
    assert not verdict([_row("videoprism", 250, 50), _row("litserve", 200, 60)])["text"]["goal_met"]


def test_best_of_rounds_keeps_the_faster_round_per_cell() -> None:
    rows = best_of_rounds([_row("litserve", 100, 60, rnd=0), _row("litserve", 150, 80, rnd=1)])
    assert [(r["throughput_rps"], r["round"]) for r in rows] == [(150, 1)]


def test_report_names_the_script_behind_each_result_file() -> None:
    from bench.report import _script_of

    assert _script_of("training_throughput_demo") == "training_throughput"
    assert _script_of("encoder_small") == "encoder"
    assert _script_of("physical_limit") == "physical_limit"
