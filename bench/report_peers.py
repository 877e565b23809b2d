"""The peers part of docs/performance.md: our server next to LitServe and Ray Serve on the same bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from bench.report_format import machine_of, save, table

SERVERS = ("videoprism", "ray_serve", "litserve")


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
