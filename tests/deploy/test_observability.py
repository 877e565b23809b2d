"""Prometheus rules, the Grafana dashboard and the HPA adapter query: valid PromQL, well-formed rule files,
and every metric/label they use is declared in deploy/metrics.yaml (the one place to reconcile with the
service's real metric names)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from service import errors
from tests.deploy.conftest import ROOT, load_script
from tests.deploy.promql_refs import refs

CONTRACT = yaml.safe_load((ROOT / "deploy" / "metrics.yaml").read_text())
RULES = yaml.safe_load((ROOT / "deploy" / "prometheus" / "rules" / "videoprism.yml").read_text())
DASHBOARD = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "videoprism.json").read_text())
ADAPTER = yaml.safe_load((ROOT / "deploy" / "k8s" / "extras" / "prometheus-adapter-values.yaml").read_text())
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _rules() -> list[dict[str, Any]]:
    return [rule for group in RULES["groups"] for rule in group["rules"]]


def _recorded() -> set[str]:
    return {r["record"] for r in _rules() if "record" in r}


def _known_series() -> set[str]:
    names = set(CONTRACT["builtin"]) | _recorded()
    for name, spec in CONTRACT["metrics"].items():
        names.add(name)
        if spec["type"] == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


def _known_labels() -> set[str]:
    labels = set(CONTRACT["target_labels"]) | {"le"}
    for spec in CONTRACT["metrics"].values():
        labels |= set(spec["labels"])
    return labels


def _all_queries() -> list[tuple[str, str]]:
    queries = [(r.get("record") or r["alert"], r["expr"]) for r in _rules()]
    for panel in DASHBOARD["panels"]:
        queries += [(f"panel {panel['title']}", t["expr"]) for t in panel["targets"]]
    queries += [(f"adapter {r['name']['as']}", r["metricsQuery"]) for r in ADAPTER["rules"]["custom"]]
    queries += [(f"adapter series {r['name']['as']}", r["seriesQuery"]) for r in ADAPTER["rules"]["custom"]]
    return queries


@pytest.mark.parametrize(("where", "expr"), _all_queries(), ids=[q[0] for q in _all_queries()])
def test_query_parses_and_uses_declared_metrics(where: str, expr: str) -> None:
    found = refs(expr)  # ValueError on a PromQL syntax error
    assert found.metrics, f"{where}: selects no series"
    assert found.metrics <= _known_series(), f"{where}: undeclared {found.metrics - _known_series()}"
    assert found.labels <= _known_labels(), f"{where}: undeclared labels {found.labels - _known_labels()}"


def test_promql_check_is_not_vacuous() -> None:
    with pytest.raises(ValueError):
        refs("sum(rate(videoprism_requests_total[5m])")
    assert not refs("rate(videoprism_request_total[5m])").metrics <= _known_series()  # a typo is caught


def test_error_codes_in_queries_exist_in_the_taxonomy() -> None:
    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ServiceError)
    }
    used = set()
    for _, expr in _all_queries():
        for metric, label, _, value in refs(expr).matchers:
            if metric == "videoprism_errors_total" and label == "code":
                used |= set(value.split("|"))
    assert used, "the rules should single out some error codes"
    assert used <= codes, f"unknown error codes {used - codes}"


def test_rule_file_structure() -> None:
    names = [g["name"] for g in RULES["groups"]]
    assert len(names) == len(set(names))
    for rule in _rules():
        assert ("record" in rule) != ("alert" in rule), rule
        if "record" in rule:
            assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", rule["record"]), "level:metric:operations"
        else:
            assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["alert"])
            assert rule["labels"]["severity"] in {"page", "ticket"}
            assert {"summary", "description"} <= set(rule["annotations"])
            assert re.fullmatch(r"\d+[smh]", rule["for"])
    alerts = {r["alert"] for r in _rules() if "alert" in r}
    assert {"VideoprismTargetDown", "VideoprismServerErrors", "VideoprismOverloaded"} <= alerts


def test_dashboard_is_generated_and_covers_the_service() -> None:
    make_dashboard = load_script("deploy/grafana/make_dashboard.py")
    committed = (ROOT / "deploy" / "grafana" / "dashboards" / "videoprism.json").read_text()
    assert committed == make_dashboard.render(), "run: python deploy/grafana/make_dashboard.py"
    used = set()
    for panel in DASHBOARD["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}"
        for target in panel["targets"]:
            used |= refs(target["expr"]).metrics
    required = {
        "videoprism_requests_total",  # throughput
        "videoprism_request_duration_seconds_bucket",  # latency percentiles
        "videoprism_queue_depth",
        "videoprism_batch_size_bucket",
        "videoprism_cache_requests_total",  # hit ratio
        "videoprism_errors_total",  # errors by code
    }
    assert required <= used
    ids = [p["id"] for p in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))


def test_compose_wires_prometheus_and_grafana_to_these_files() -> None:
    services = COMPOSE["services"]
    prom_config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    [job] = [j for j in prom_config["scrape_configs"] if j["job_name"] == "videoprism"]
    [target] = job["static_configs"][0]["targets"]
    host, port = target.split(":")
    # The operations port: the service listens there, and it is not published outside the compose network.
    assert host in services and services[host]["environment"]["VIDEOPRISM_OPS_PORT"] == port
    assert not any(p.endswith(f":{port}") for p in services[host]["ports"])
    assert any("rules" in rf for rf in prom_config["rule_files"])
    mounts = {
        v.split(":")[1]: v.split(":")[0] for v in services["prometheus"]["volumes"] if v.startswith("./")
    }
    assert mounts["/etc/prometheus/rules"] == "./deploy/prometheus/rules"
    # Grafana: the datasource uid is the dashboard's default, and the provider reads the mounted folder.
    datasource = yaml.safe_load(
        (ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"][0]
    assert DASHBOARD["templating"]["list"][0]["current"]["value"] == datasource["uid"]
    assert datasource["url"] == "http://prometheus:9090"
    provider = yaml.safe_load(
        (ROOT / "deploy" / "grafana" / "provisioning" / "dashboards" / "dashboards.yml").read_text()
    )["providers"][0]
    grafana_mounts = {v.split(":")[1]: v.split(":")[0] for v in services["grafana"]["volumes"]}
    assert grafana_mounts[provider["options"]["path"]] == "./deploy/grafana/dashboards"
