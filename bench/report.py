"""`make report`: docs/performance.md and its PNG plots, generated from the JSON under bench/results/.

Nothing is measured here; every number in the report is read from a benchmark's JSON, next to the machine
and load average that benchmark recorded. Missing results are listed, not invented.

    .venv/bin/python -m bench.report [--results bench/results] [--out docs/performance.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: the report is built in CI and on servers without a display
import matplotlib.pyplot as plt

from bench.report_format import flat_table, machine_of, save, table
from bench.report_peers import peers_section
from bench.report_reliability import reliability_section

ROOT = Path(__file__).resolve().parents[1]


def _bare_variants(summary: dict[str, Any]) -> str:
    variants = summary.get("bare_variants_max_batch")
    if not variants:
        return ""
    return " (bare at max batch: " + ", ".join(f"{k} {v:.0f}/s" for k, v in variants.items()) + ")"


def batching_section(data: dict[str, Any], img: Path, name: str = "batching") -> list[str]:
    rows = data.get("table") or data["cells"]  # medians over repetitions; older files only have cells
    kinds = sorted({c["kind"] for c in rows})
    workers = data.get("workers", 1)
    threads = data.get("intra_op_threads", 0) or "onnxruntime's default"
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 3.4), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        for mode in ("dynamic", "batch1"):
            pts = sorted(
                (c for c in rows if c["kind"] == kind and c["mode"] == mode), key=lambda c: c["concurrency"]
            )
            ax.plot(
                [c["concurrency"] for c in pts], [c["throughput_rps"] for c in pts], marker="o", label=mode
            )
        ax.set(
            title=f"{kind}: batching on/off, {workers} worker(s)",
            xlabel="concurrency",
            ylabel="items/s",
            xscale="log",
        )
        ax.legend()
    summary = [
        f"- **{kind}**: dynamic / batch-1 at c=32 {s['speedup_at_c32']:.2f}x (goal 2); served at c=128 / bare "
        f"session {s['served_fraction_of_bare']:.3f} (goal 0.9); bare batch gain {s['engine_batch_gain']:.2f}x"
        + _bare_variants(s)
        for kind, s in sorted(data.get("summary", {}).items())
    ]
    bundle_id = data.get("bundle", {}).get("bundle_id", "not recorded")
    return [
        f"## Batching on/off (measured, `bench/batching.py`), {workers} worker(s) per kind",
        f"Machine: {machine_of(data)}. Bundle id: `{bundle_id}`. "
        f"Served sessions: {threads} intra-op thread(s); the bare figure is the better "
        "of one loop with onnxruntime's default threads and one loop per core on one-thread sessions (older "
        f"runs: the first only). Medians of {data.get('reps', 1)} interleaved repetitions.",
        "",
        save(fig, img, f"{name}.png"),
        "",
        *summary,
        "",
        table(
            ["input", "mode", "concurrency", "items/s", "p50 ms", "p99 ms"],
            [
                [c["kind"], c["mode"], c["concurrency"], c["throughput_rps"], c["p50_ms"], c["p99_ms"]]
                for c in rows
            ],
        ),
        "",
    ]


def physical_section(data: dict[str, Any]) -> list[str]:
    return [
        "## Physical limit (measured)",
        f"Machine: {machine_of(data)}. FLOPs per clip from the ONNX graph: {data['flops_per_clip_graph'] / 1e6:.1f} MFLOP "
        f"(analytic `tiny` preset: {data['flops_per_clip_analytic_tiny'] / 1e6:.1f} MFLOP). numpy fp32 GEMM: "
        f"{data['numpy_gemm_gflops']:.1f} GFLOP/s.",
        "",
        table(
            ["ORT threads", "GEMM peak GFLOP/s", "encoder clips/s", "encoder GFLOP/s", "fraction of peak"],
            [
                [
                    r["threads"],
                    r["ort_matmul_peak_gflops"],
                    r["encoder_clips_per_s"],
                    r["encoder_gflops"],
                    f"{100 * r['fraction_of_peak']:.0f} %",
                ]
                for r in data["rows"]
            ],
        ),
        "",
    ]


def projection_section(data: dict[str, Any]) -> list[str]:
    gpu = data["gpu"]
    return [
        "## GPU projection (PROJECTION on paper, not measured)",
        f"{gpu['name']}: {gpu['dense_bf16_tflops']} dense BF16 TFLOP/s (datasheet); FLOPs counted analytically "
        "from the presets; clips/s = utilisation x peak / FLOPs per clip.",
        "",
        table(
            [
                "preset",
                "GFLOP/clip",
                "params (M)",
                "utilisation",
                "batch",
                "memory/batch GB (fused attn)",
                "memory/batch GB (unfused)",
                "projected clips/s",
                "projected ms/batch",
            ],
            [
                [
                    r["preset"],
                    r["gflops_per_clip"],
                    r["params_m"],
                    r["utilisation"],
                    r["batch"],
                    r["memory_per_batch_gb_fused"],
                    r["memory_per_batch_gb_unfused"],
                    r["projected_clips_per_s"],
                    r["projected_batch_latency_ms"],
                ]
                for r in data["rows"]
            ],
        ),
        "",
    ]


# Result files of bench/batching.py, each rendered by `batching_section`.
BATCHING_RESULTS = ("batching", "batching_workers2", "batching_conv_stem_workers2")


def _script_of(result: str) -> str:
    """The bench script that wrote `result`: its longest existing prefix (encoder_small -> encoder,
    training_throughput_demo -> training_throughput)."""
    parts = result.split("_")
    for end in range(len(parts), 0, -1):
        if (ROOT / "bench" / f"{'_'.join(parts[:end])}.py").exists():
            return "_".join(parts[:end])
    return parts[0]


# Sections written by hand below this marker in docs/performance.md (their benchmarks need prose: pairs of
# runs, causes, goals): `make report` keeps them and does not add a generic table for their results.
HAND_WRITTEN_MARKER = "<!-- hand-written sections below: kept by make report -->"
HAND_WRITTEN_RESULTS = ("url_path", "url_path_imageio", "real_size", "compare_peers_full_size", "tracing")


def hand_written_tail(path: Path) -> list[str]:
    text = path.read_text() if path.exists() else ""
    if HAND_WRITTEN_MARKER not in text:
        return [HAND_WRITTEN_MARKER, ""]
    return [HAND_WRITTEN_MARKER + text.split(HAND_WRITTEN_MARKER, 1)[1].rstrip("\n")]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args()
    img = args.out.parent / "img"
    results = {p.stem: json.loads(p.read_text()) for p in sorted(args.results.glob("*.json"))}
    out = [
        "# Performance",
        "",
        "Generated by `make report` from the JSON under `bench/results/` (`make bench`, `make reliability`). "
        "Every section names the machine and load average its figures were taken under; the benchmark machine "
        "may be shared, so figures taken under a high load average are lower bounds. Projections are labelled.",
        "",
    ]
    if "compare_peers" in results:
        out += peers_section(results["compare_peers"], img)
    for name in BATCHING_RESULTS:
        if name in results:
            out += batching_section(results[name], img, name)
    if "physical_limit" in results:
        out += physical_section(results["physical_limit"])
    if "gpu_projection" in results:
        out += projection_section(results["gpu_projection"])
    out += reliability_section(results, img)
    known = {"compare_peers", "physical_limit", "gpu_projection", *BATCHING_RESULTS, *HAND_WRITTEN_RESULTS}
    for name, data in results.items():
        if name in known or name.startswith("reliability_"):
            continue
        script = _script_of(name)
        out += [
            f"## {name} (measured, `bench/{script}.py`)",
            f"Machine: {machine_of(data)}.",
            "",
            flat_table(data),
            "",
        ]
    expected = {
        "compare_peers",
        "batching",
        "physical_limit",
        "gpu_projection",
        "encoder",
        "decode",
        "data_loading",
        "reliability_overload",
        "reliability_burst",
        "reliability_leaks",
    }
    missing = sorted(expected - set(results))
    if missing:
        out += [
            "## Missing results",
            "",
            "Not in `bench/results/` when this report was built: " + ", ".join(missing) + ".",
            "",
        ]
    out += hand_written_tail(args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(out) + "\n")
    print(f"wrote {args.out} and {len(list(img.glob('*.png')))} plots under {img}")


if __name__ == "__main__":
    main()
