"""`make report`: docs/performance.md and its PNG plots, generated from the JSON under bench/results/.

Nothing is measured here; every number in the report is read from a benchmark's JSON, next to the machine
and load average that benchmark recorded. Missing results are listed, not invented.

    .venv/bin/python -m bench.report [--results bench/results] [--out docs/performance.md]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: the report is built in CI and on servers without a display
import matplotlib.pyplot as plt

from bench.report_sections import reliability_section

ROOT = Path(__file__).resolve().parents[1]
SERVERS = ("videoprism", "ray_serve", "litserve")


def fmt(value: Any, digits: int = 1) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"
    return str(value)


def machine_of(data: dict[str, Any]) -> str:
    m = data.get("machine", {})
    load = m.get("loadavg_1_5_15") or m.get("load_avg_1m") or m.get("load_average_1min") or "not recorded"
    return f"{m.get('cpu_model') or m.get('cpu', '?')}, {m.get('cores', '?')} cores, load average {load}"


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def flat_table(data: dict[str, Any], limit: int = 40) -> str:
    """Key/value table of any result JSON (numbers and strings up to three levels deep)."""
    rows: list[list[Any]] = []

    def walk(prefix: str, value: Any, depth: int) -> None:
        if isinstance(value, dict) and depth < 3:
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner, depth + 1)
        elif isinstance(value, int | float | str | bool) and not prefix.startswith("machine"):
            rows.append([prefix, value])

    walk("", data, 0)
    return table(["figure", "value"], rows[:limit]) + ("\n\n(truncated)" if len(rows) > limit else "")


def save(fig: Any, img_dir: Path, name: str) -> str:
    img_dir.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(img_dir / name, dpi=110)
    plt.close(fig)
    return f"![{name}](img/{name})"


def peers_section(data: dict[str, Any], img: Path) -> list[str]:
    rows = data["rows"]
    out = [
        "## Peers side by side (measured)",
        f"Machine: {machine_of(data)}. Servers pinned to cores {data['server_cpus']}, load generator to "
        f"{data['client_cpus']}; one ONNX Runtime intra-op thread each; batch (size, delay ms): "
        f"{data['batch']}; {data['seconds_per_cell']} s per cell, closed loop, best of the rounds.",
        "",
    ]
    for kind in ("text", "frames"):
        fig, (ax_t, ax_l) = plt.subplots(1, 2, figsize=(10, 3.6))
        for server in SERVERS:
            pts = sorted(
                (
                    r
                    for r in rows
                    if r["server"] == server
                    and r["kind"] == kind
                    and r["door"] == "http"
                    and r["throughput_rps"] > 0
                ),
                key=lambda r: r["concurrency"],
            )
            if not pts:
                continue
            xs = [r["concurrency"] for r in pts]
            ax_t.plot(xs, [r["throughput_rps"] for r in pts], marker="o", label=server)
            ax_l.plot(xs, [r["p50_ms"] for r in pts], marker="o", ls="--", label=f"{server} p50")
            ax_l.plot(xs, [r["p99_ms"] for r in pts], marker="s", label=f"{server} p99")
        ax_t.set(
            title=f"{kind}: throughput vs concurrency",
            xlabel="concurrency",
            ylabel="ok answers/s",
            xscale="log",
        )
        ax_l.set(
            title=f"{kind}: latency percentiles",
            xlabel="concurrency",
            ylabel="ms",
            xscale="log",
            yscale="log",
        )
        ax_t.legend(fontsize=7)
        ax_l.legend(fontsize=6)
        out.append(save(fig, img, f"peers_{kind}.png"))
    out.append("")
    out.append(
        table(
            ["server", "input", "door", "concurrency", "ok/s", "p50 ms", "p95 ms", "p99 ms", "answers"],
            [
                [
                    r["server"],
                    r["kind"],
                    r["door"],
                    r["concurrency"],
                    r["throughput_rps"],
                    r["p50_ms"],
                    r["p95_ms"],
                    r["p99_ms"],
                    r["outcomes"],
                ]
                for r in sorted(rows, key=lambda r: (r["kind"], r["server"], r["door"], r["concurrency"]))
            ],
        )
    )
    out.append("")
    out.append("Goal: this service >= 1.3x the best peer's throughput at an equal or lower p99.")
    out.append("")
    for kind, verdict in ((k, v) for k, v in data["verdict"].items() if k != "per_round"):
        if "ratio_vs_best_peer" in verdict:
            out.append(
                f"- **{kind}**: best peer {verdict['best_peer']} {verdict[verdict['best_peer']]}; ours best "
                f"{verdict['videoprism']} ({verdict['ratio_vs_best_peer']:.2f}x); ours at an equal or lower p99 "
                f"{verdict.get('ours_at_peer_p99')} = {verdict.get('ratio_at_equal_or_lower_p99', 0.0):.2f}x "
                f"the best peer; goal met: **{verdict['goal_met']}**"
            )
        else:
            out.append(f"- **{kind}**: {verdict.get('note', 'no comparison')}")
    if "rows_all_rounds" in data:
        # The spread between rounds shows how much the shared machine's load moved the figures.
        per_round: list[list[Any]] = []
        for rnd in range(int(data.get("rounds", 1))):
            cells = [
                r
                for r in data["rows_all_rounds"]
                if r["round"] == rnd and r["kind"] == "text" and r["door"] == "http"
            ]
            per_round.append(
                [rnd]
                + [
                    max((r["throughput_rps"] for r in cells if r["server"] == s), default=0.0)
                    for s in SERVERS
                ]
            )
        judged = data["verdict"].get("per_round", {})
        for row in per_round:
            text = judged.get(str(row[0]), judged.get(row[0], {})).get("text", {})
            row += [text.get("ratio_at_equal_or_lower_p99", "n/a"), text.get("goal_met", "n/a")]
        header = ["round", *SERVERS, "ours at <= peer p99 / best peer", "goal met"]
        out += [
            "",
            "Best text throughput (ok/s, HTTP) per round, each round judged on its own:",
            "",
            table(header, per_round),
        ]
    best = {
        s: max(
            (
                r["throughput_rps"]
                for r in rows
                if r["server"] == s and r["kind"] == "text" and r["door"] == "http"
            ),
            default=0.0,
        )
        for s in SERVERS
    }
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(list(best), list(best.values()), color=["tab:blue", "tab:orange", "tab:green"])
    ax.set(title="text: best throughput (HTTP)", ylabel="ok answers/s")
    out += ["", save(fig, img, "peers_best_text.png"), ""]
    return out


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
    out += reliability_section(results, img, save, table, machine_of)
    known = {"compare_peers", "physical_limit", "gpu_projection", *BATCHING_RESULTS}
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
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(out) + "\n")
    print(f"wrote {args.out} and {len(list(img.glob('*.png')))} plots under {img}")


if __name__ == "__main__":
    main()
