"""GPU projection ON PAPER (nothing here runs on a GPU): FLOPs per clip, memory per batch and expected
clips/s of the `base` and `large` video encoders on one H100, at a stated utilisation.

FLOPs are counted analytically from `training.model.config.presets` (2 x multiply-adds of every matmul;
softmax, norms and activations are ignored, they are < 2 % at these widths). The same counter gives the
tiny preset's FLOPs, which `bench.physical_limit` checks against the demo bundle's ONNX graph.

    .venv/bin/python -m bench.gpu_projection [--utilisation 0.4] [--batch 32]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from bench.loadgen.machine import machine, machine_line, write_result
from training.model.config import VideoEncoderConfig, VideoTextConfig, presets
from training.model.video_encoder import conv_stem_layers


@dataclass(frozen=True)
class Gpu:
    name: str
    dense_bf16_tflops: float  # vendor datasheet, dense (no 2:4 sparsity)
    memory_gb: float
    bandwidth_tbs: float


# NVIDIA H100 SXM5 datasheet: 989.4 dense BF16/FP16 TFLOP/s, 80 GB HBM3 at 3.35 TB/s.
H100 = Gpu("H100 SXM 80GB", 989.4, 80.0, 3.35)


def _layer(tokens: int, width: int, mlp: int) -> int:
    """One pre-norm transformer layer over `tokens`: Q/K/V/out projections, scores and weighted sum, MLP."""
    return 2 * tokens * 4 * width * width + 2 * 2 * tokens * tokens * width + 2 * 2 * tokens * width * mlp


def _video_config(
    name: str | VideoEncoderConfig | VideoTextConfig,
) -> tuple[VideoEncoderConfig, VideoTextConfig | None]:
    config = presets[name] if isinstance(name, str) else name
    if isinstance(config, VideoTextConfig):
        return config.video, config
    return config, None


def _patch_embedding_flops(video: VideoEncoderConfig) -> int:
    """One frame's patch stem: a P*P*3 -> D matmul per patch, or the conv stem's layers."""
    p, d = video.patch_size, video.width
    if video.patch_stem == "linear":
        return 2 * video.tokens_per_frame * p * p * 3 * d
    total, side = 0, video.image_size
    for layer in conv_stem_layers(video.patch_stem, p, d, video.stem_frames):
        side //= layer.stride
        total += 2 * side * side * layer.out_channels * layer.in_channels * layer.kernel**2
    return total


def clip_flops(name: str | VideoEncoderConfig | VideoTextConfig) -> dict[str, int]:
    """FLOPs of one clip at the model's own frame count and image size, per part (a preset name or config)."""
    video, lvt = _video_config(name)
    t, n, d, m = video.num_frames, video.tokens_per_frame, video.width, video.mlp_dim
    parts = {
        "patch_embedding": t * _patch_embedding_flops(video),
        "spatial": video.num_spatial_layers * t * _layer(n, d, m),
        "temporal": video.num_temporal_layers * n * _layer(t, d, m),
    }
    if lvt is not None:
        hidden = lvt.pooler_hidden_multiplier * d
        parts["auxiliary"] = lvt.num_auxiliary_layers * _layer(t * n, d, m)
        parts["pooler"] = (
            2 * t * n * 2 * d * hidden + 2 * d * hidden + 2 * 2 * t * n * hidden + 2 * hidden * d
        )
    parts["total"] = sum(parts.values())
    return parts


def params(name: str) -> int:
    video, lvt = _video_config(name)
    d, m = video.width, video.mlp_dim
    layer = 4 * d * d + 4 * d + 2 * d * m + m + d + 4 * d
    count = video.patch_size**2 * 3 * d + d + video.pos_grid**2 * d + video.num_frames * d
    count += (video.num_spatial_layers + video.num_temporal_layers) * layer
    if lvt is not None:
        hidden = lvt.pooler_hidden_multiplier * d
        count += lvt.num_auxiliary_layers * layer + d + 3 * d * hidden + hidden * d + 2 * d
    return count


def activation_bytes_per_clip(name: str, bytes_per_value: int = 2, fused_attention: bool = True) -> int:
    """Peak live activations of one clip in inference: the widest layer's residual stream + MLP hidden,
    plus the attention score matrix when attention is not fused (FlashAttention-style kernels avoid it)."""
    video, lvt = _video_config(name)
    t, n, d, m = video.num_frames, video.tokens_per_frame, video.width, video.mlp_dim
    tokens = t * n
    live = tokens * (3 * d + m)  # input, output and QKV-sized buffers + MLP hidden, all frames at once
    if not fused_attention:
        joint = lvt is not None and lvt.num_auxiliary_layers > 0
        live += video.num_heads * (tokens * tokens if joint else t * n * n)
    return live * bytes_per_value


def project(name: str, gpu: Gpu, utilisation: float, batch: int) -> dict[str, float | int | str]:
    flops = clip_flops(name)["total"]
    weights = params(name) * 2  # bf16 weights
    act = activation_bytes_per_clip(name)
    act_unfused = activation_bytes_per_clip(name, fused_attention=False)
    clips_per_s = utilisation * gpu.dense_bf16_tflops * 1e12 / flops
    return {
        "preset": name,
        "gpu": gpu.name,
        "utilisation": utilisation,
        "batch": batch,
        "gflops_per_clip": flops / 1e9,
        "params_m": params(name) / 1e6,
        "weights_gb_bf16": weights / 1e9,
        "memory_per_batch_gb_fused": (weights + batch * act) / 1e9,
        "memory_per_batch_gb_unfused": (weights + batch * act_unfused) / 1e9,
        "projected_clips_per_s": clips_per_s,
        "projected_batch_latency_ms": 1000 * batch / clips_per_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--utilisation", type=float, default=0.4, help="fraction of dense BF16 peak reached")
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    print(machine_line())
    print(f"PROJECTION, not a measurement: {H100.name}, {H100.dense_bf16_tflops} dense BF16 TFLOP/s at "
          f"{100 * args.utilisation:.0f} % utilisation, batch {args.batch}")  # fmt: skip
    rows = [
        project(name, H100, args.utilisation, args.batch)
        for name in ("base", "large", "lvt_base", "lvt_large")
    ]
    for r in rows:
        print(f"  {r['preset']:10s} {r['gflops_per_clip']:8.1f} GFLOP/clip  {r['params_m']:6.1f} M params  "
              f"memory/batch {r['memory_per_batch_gb_fused']:5.1f} GB (fused attn) "
              f"{r['memory_per_batch_gb_unfused']:6.1f} GB (unfused)  -> {r['projected_clips_per_s']:7.0f} clips/s, "
              f"{r['projected_batch_latency_ms']:6.1f} ms/batch")  # fmt: skip
    tiny = clip_flops("tiny")
    print(f"  tiny (demo bundle preset): {tiny['total'] / 1e6:.1f} MFLOP/clip")
    path = write_result(
        "gpu_projection",
        {"label": "PROJECTION (paper estimate, not measured)", "machine": machine(), "gpu": H100.__dict__,
         "rows": rows, "tiny_flops": tiny, "flops_parts": {n: clip_flops(n) for n in ("base", "large")}},
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
