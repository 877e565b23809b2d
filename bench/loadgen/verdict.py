"""Which server won: best throughput per server and input, and whether this service met the peers goal.

Kept apart from the drivers so the unit tests can check it without the `bench` extra's clients.
"""

from __future__ import annotations

from typing import Any


def best_of_rounds(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    best: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    for row in rows:
        key = (row["server"], row["kind"], row["door"], row["concurrency"])
        if key not in best or row["throughput_rps"] > best[key]["throughput_rps"]:
            best[key] = row
    return list(best.values())


def verdict(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per input kind (HTTP door): each server's best throughput and its p99 there; ours vs the best peer."""
    out: dict[str, Any] = {}
    for kind in ("text", "frames"):
        best: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row["kind"] != kind or row["door"] != "http" or not row["throughput_rps"] > 0:
                continue
            if row["server"] not in best or row["throughput_rps"] > best[row["server"]]["throughput_rps"]:
                best[row["server"]] = row
        peers = [r for s, r in best.items() if s != "videoprism"]
        ours = best.get("videoprism")
        top = max(peers, key=lambda r: r["throughput_rps"]) if peers else None
        entry: dict[str, Any] = {s: {k: r[k] for k in ("concurrency", "throughput_rps", "p99_ms")}
                                 for s, r in best.items()}  # fmt: skip
        if ours and top:
            entry["best_peer"] = top["server"]
            entry["ratio_vs_best_peer"] = ours["throughput_rps"] / top["throughput_rps"]
            # "At an equal or lower p99": our best cell among those whose p99 is not above the best
            # peer's p99 at its best throughput.
            fair = [r for r in rows if r["server"] == "videoprism" and r["kind"] == kind and r["door"] == "http"
                    and r["throughput_rps"] > 0 and r["p99_ms"] <= top["p99_ms"]]  # fmt: skip
            at_p99 = max(fair, key=lambda r: r["throughput_rps"]) if fair else None
            ratio = at_p99["throughput_rps"] / top["throughput_rps"] if at_p99 else 0.0
            entry["ours_at_peer_p99"] = (
                {k: at_p99[k] for k in ("concurrency", "throughput_rps", "p99_ms")} if at_p99 else None
            )
            entry["ratio_at_equal_or_lower_p99"] = ratio
            entry["p99_not_higher"] = at_p99 is not None
            entry["goal_met"] = ratio >= 1.3
        elif top:
            entry["note"] = "this service did not answer this input (no pre-decoded frames door yet)"
        out[kind] = entry
    return out
