"""The reliability part of docs/performance.md: overload curves, memory over the soak, faults, leaks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from bench.report_format import machine_of, save, table


def reliability_section(results: dict[str, Any], img: Path) -> list[str]:
    out = ["## Reliability (measured, `make reliability`)", ""]
    overload = results.get("reliability_overload")
    if overload:
        run = overload["run"]
        out += [
            f"### Overload at 2x capacity — machine: {machine_of(overload)}",
            f"Capacity {overload['capacity_rps']:.0f}/s (closed loop), offered {overload['offered_rps']:.0f}/s "
            f"open loop for {run['duration_s']:.0f} s: answers {run['outcomes']}, not sent by the generator "
            f"{run['not_sent']}; admitted p50/p99 {run['p50_ms']:.0f}/{run['p99_ms']:.0f} ms "
            f"(bound {overload['admitted_p99_bound_ms']:.0f} ms); RSS {overload['rss_start_mib']:.0f} -> "
            f"{overload['rss_end_mib']:.0f} MiB.",
            "",
        ]
        fig, (ax_m, ax_l) = plt.subplots(1, 2, figsize=(10, 3.4))
        ax_m.plot([r["t_s"] for r in overload["rss"]], [r["rss_mib"] for r in overload["rss"]])
        ax_m.set(title="server RSS over the overload soak", xlabel="s", ylabel="MiB")
        series = overload["series"]
        ax_l.plot([r["t_s"] for r in series], [r["p99_ms"] for r in series], label="admitted p99")
        ax_l.plot([r["t_s"] for r in series], [r["p50_ms"] for r in series], label="admitted p50")
        ax_l2 = ax_l.twinx()
        ax_l2.plot(
            [r["t_s"] for r in series], [r["ok_rps"] for r in series], color="gray", ls=":", label="ok/s"
        )
        ax_l.set(
            title="latency and goodput by second", xlabel="s (completion time)", ylabel="ms", yscale="log"
        )
        ax_l.legend(fontsize=7, loc="upper left")
        ax_l2.set_ylabel("ok/s")
        out += [save(fig, img, "soak_memory_latency.png"), ""]
    burst = results.get("reliability_burst")
    if burst:
        per_second = {int(k): v for k, v in burst["p99_by_second_ms"].items()}
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot(list(per_second), list(per_second.values()), marker=".")
        ax.axvspan(0, burst["burst_s"], color="red", alpha=0.15, label="10x burst")
        ax.axhline(burst["target_p99_ms"], color="gray", ls="--", label="normal p99 target")
        ax.set(
            title="steady stream p99 around a 10x burst", xlabel="s (due time)", ylabel="p99 ms", yscale="log"
        )
        ax.legend(fontsize=7)
        out += [
            f"### Burst 10x then normal — machine: {machine_of(burst)}",
            f"Normal {burst['normal_rps']:.0f}/s, burst {burst['burst_rps']:.0f}/s for {burst['burst_s']:.0f} s: "
            f"burst answers {burst['burst']['outcomes']}, steady answers {burst['steady']['outcomes']}; back to "
            f"normal p99 after **{burst['recovery_s']} s** (goal <= 60 s; None = not within the run).",
            "",
            save(fig, img, "burst_recovery.png"),
            "",
        ]
    faults = [
        (name, results[f"reliability_fault_{name}"])
        for name in ("redis", "slow_origin", "decoder_hang", "sigterm")
        if f"reliability_fault_{name}" in results
    ]
    if faults:
        rows = []
        for name, data in faults:
            answers = data.get("run", data.get("text", {})).get("outcomes")
            rows.append(
                [name, data.get("lost", "see answers"), answers, data.get("videos", ""), machine_of(data)]
            )
        out += [
            "### Faults under load (requests lost, goal 0)",
            "",
            table(["fault", "lost", "text answers", "video answers", "machine"], rows),
            "",
        ]
    leaks = results.get("reliability_leaks")
    if leaks:
        out += [
            f"### Leaks after {leaks['requests']} failing requests — machine: {machine_of(leaks)}",
            "",
            table(
                ["probe", "before", "after"],
                [[k, leaks["before"][k], leaks["after"][k]] for k in leaks["before"]],
            ),
            "",
            f"Answers by failure kind: {leaks['outcomes']}",
            "",
        ]
    return out
