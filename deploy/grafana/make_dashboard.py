"""Writes dashboards/videoprism.json, the service's Grafana dashboard. Run: `python deploy/grafana/make_dashboard.py`.

Generated rather than hand-edited so panels stay uniform; tests/deploy/test_grafana.py fails when the committed
JSON and this script disagree, and checks every query against deploy/metrics.yaml.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards" / "videoprism.json"
DS = {"type": "prometheus", "uid": "${datasource}"}  # a variable, so the same JSON works in compose and k8s
RATE = "$__rate_interval"

# (title, unit, [(legend, expr)], grid position x, y, w, h)
PANELS: list[tuple[str, str, list[tuple[str, str]], tuple[int, int, int, int]]] = [
    (
        "Throughput (requests/s)",
        "reqps",
        [
            ("{{api}}", f"sum by (api) (rate(videoprism_requests_total[{RATE}]))"),
        ],
        (0, 0, 12, 8),
    ),
    (
        "Latency percentiles",
        "s",
        [
            (
                f"p{q} {{{{api}}}}",
                f"histogram_quantile(0.{q}, sum by (api, le) (rate(videoprism_request_duration_seconds_bucket[{RATE}])))",
            )
            for q in ("50", "95", "99")
        ],
        (12, 0, 12, 8),
    ),
    (
        "Queue depth",
        "short",
        [
            ("{{kind}}", "sum by (kind) (videoprism_queue_depth)"),
        ],
        (0, 8, 8, 8),
    ),
    (
        "Batch size (mean and p95)",
        "short",
        [
            (
                "mean {{kind}}",
                f"sum by (kind) (rate(videoprism_batch_size_sum[{RATE}])) "
                f"/ sum by (kind) (rate(videoprism_batch_size_count[{RATE}]))",
            ),
            (
                "p95 {{kind}}",
                f"histogram_quantile(0.95, sum by (kind, le) (rate(videoprism_batch_size_bucket[{RATE}])))",
            ),
        ],
        (8, 8, 8, 8),
    ),
    (
        "Cache hit ratio",
        "percentunit",
        [
            (
                "hit ratio {{backend}}",
                f'sum by (backend) (rate(videoprism_cache_requests_total{{result="hit"}}[{RATE}])) '
                f"/ sum by (backend) (rate(videoprism_cache_requests_total[{RATE}]))",
            ),
            ("cache errors/s {{backend}}", f"sum by (backend) (rate(videoprism_cache_errors_total[{RATE}]))"),
        ],
        (16, 8, 8, 8),
    ),
    (
        "Errors by code (errors/s)",
        "reqps",
        [
            ("{{code}}", f"sum by (code) (rate(videoprism_errors_total[{RATE}]))"),
        ],
        (0, 16, 12, 8),
    ),
    (
        "Requests by outcome code",
        "reqps",
        [
            ("{{api}} {{code}}", f"sum by (api, code) (rate(videoprism_requests_total[{RATE}]))"),
        ],
        (12, 16, 12, 8),
    ),
    (
        "Replicas scraped",
        "short",
        [
            ("up", 'sum(up{job="videoprism"})'),
        ],
        (0, 24, 6, 4),
    ),
    (
        "Requests in flight",
        "short",
        [
            ("{{instance}}", "sum by (instance) (videoprism_requests_in_flight)"),
        ],
        (6, 24, 6, 4),
    ),
    (
        "Decoder crashes",
        "short",
        [
            ("{{signal}}", f"sum by (signal) (increase(videoprism_decoder_crashes_total[{RATE}]))"),
        ],
        (12, 24, 6, 4),
    ),
    (
        "Resident memory",
        "bytes",
        [
            ("{{instance}}", 'sum by (instance) (process_resident_memory_bytes{job="videoprism"})'),
        ],
        (18, 24, 6, 4),
    ),
]


def panel(
    pid: int, title: str, unit: str, targets: list[tuple[str, str]], pos: tuple[int, int, int, int]
) -> dict[str, Any]:
    x, y, w, h = pos
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DS, "expr": expr, "legendFormat": legend}
            for i, (legend, expr) in enumerate(targets)
        ],
    }


def dashboard() -> dict[str, Any]:
    return {
        "uid": "videoprism-service",
        "title": "videoprism service",
        "tags": ["videoprism"],
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {"text": "Prometheus", "value": "prometheus"},
                }
            ]
        },
        "panels": [panel(i + 1, *p) for i, p in enumerate(PANELS)],
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}")
