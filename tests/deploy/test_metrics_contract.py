"""deploy/metrics.yaml (what the dashboard, rules and HPA query) matches what the service really exports:
same names, types and label names, read from a PrometheusMetrics registry after one event of each kind."""

from __future__ import annotations

from typing import Any

import yaml

from service.core.metrics import PrometheusMetrics
from tests.deploy.conftest import ROOT

CONTRACT: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "metrics.yaml").read_text())["metrics"]


def _exported() -> dict[str, tuple[str, set[str]]]:
    metrics = PrometheusMetrics()
    # One event through every hook the contract covers, so labelled series exist and show their labels.
    metrics.front_door_finished("http", "/v1/embed/video", "internal", 0.2)
    metrics.request_finished("http", "embed_video", "internal", 0.2)
    metrics.batch_ran("text", size=2, cost=12, seconds=0.01)
    metrics.decoder_crashed(11)
    metrics.queue_wait("video", 0.01)
    metrics.batch_ran("video", size=4, cost=32, seconds=0.05)
    metrics.queue_depth("video", 3)
    metrics.cache_lookup("redis", hit=True)
    metrics.cache_error("redis")
    exported = {}
    for family in metrics.registry.collect():
        name = family.name + (
            "_total" if family.type == "counter" and not family.name.endswith("_total") else ""
        )
        labels = {k for sample in family.samples for k in sample.labels} - {"le"}
        exported[name] = (family.type, labels)
    return exported


def test_every_declared_metric_is_exported_with_its_type_and_labels() -> None:
    exported = _exported()
    for name, spec in CONTRACT.items():
        assert name in exported, f"{name} is not exported by service.core.metrics"
        kind, labels = exported[name]
        assert kind == spec["type"], name
        assert labels == set(spec["labels"]), name
