"""The rendered cpu and gpu overlays are valid Kubernetes objects and keep the deployment's promises:
probes, graceful drain, non-root read-only pods, GPU only where asked, selectors that match, and an egress
policy that blocks internal and metadata addresses."""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from service.grace import EXIT_MARGIN_S, ShutdownBudget
from tests.deploy.conftest import K8S, ROOT, find

Docs = list[dict[str, Any]]
# Oldest Kubernetes the manifests promise to work on, and the newest schema kubernetes-validate bundles.
K8S_VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): Path(__file__).parent
    / "schemas"
    / "servicemonitor-monitoring.coreos.com-v1.json"
}


def validate(doc: dict[str, Any], version: str) -> None:
    crd = CRD_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
    if crd is not None:
        jsonschema.Draft202012Validator(json.loads(crd.read_text())).validate(doc)
    else:
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_rendered_overlay_is_schema_valid(overlay: tuple[str, Docs], version: str) -> None:
    _, docs = overlay
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap",
            "ServiceMonitor", "NetworkPolicy", "ServiceAccount"} <= kinds  # fmt: skip
    for doc in docs:
        validate(doc, version)


def test_example_secret_is_schema_valid() -> None:
    doc = yaml.safe_load((K8S / "examples" / "secret.example.yaml").read_text())
    validate(doc, K8S_VERSIONS[-1])
    assert doc["metadata"]["name"] == "videoprism-secrets"


def test_validation_rejects_broken_manifests(overlay: tuple[str, Docs]) -> None:
    """Negative control: the validators above do reject typos and wrong types."""
    _, docs = overlay
    deploy = copy.deepcopy(find(docs, "Deployment", "videoprism"))
    deploy["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}  # misspelt field
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deploy, K8S_VERSIONS[-1])
    monitor = copy.deepcopy(find(docs, "ServiceMonitor", "videoprism"))
    monitor["spec"]["endpoints"][0]["interval"] = "15 seconds"
    with pytest.raises(jsonschema.ValidationError):
        validate(monitor, K8S_VERSIONS[-1])


def _container(docs: Docs) -> dict[str, Any]:
    containers = find(docs, "Deployment", "videoprism")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def test_probes_and_ports(overlay: tuple[str, Docs]) -> None:
    _, docs = overlay
    c = _container(docs)
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    startup = c["startupProbe"]
    assert startup["httpGet"]["path"] == "/readyz"  # liveness only starts once the model is warm
    # Sized from the start-to-ready goal (<= 60 s for full-size `base` on 2 cores, issue 28) with 3x room.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 3 * 60
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"http": 8000, "grpc": 50051, "ops": 9100}
    config = find(docs, "ConfigMap", "videoprism-config")["data"]
    assert config["VIDEOPRISM_OPS_PORT"] == "9100"


def test_only_embedding_ports_are_exposed(overlay: tuple[str, Docs]) -> None:
    """The ops port (metrics and docs without a key) is in no client-facing Service, and the
    NetworkPolicy admits it from the monitoring namespace only."""
    _, docs = overlay
    for name in ("videoprism", "videoprism-headless"):
        ports = {p["port"] for p in find(docs, "Service", name)["spec"]["ports"]}
        assert ports <= {8000, 50051} and ports, name
    ingress = find(docs, "NetworkPolicy", "videoprism")["spec"]["ingress"]
    open_rules = [r for r in ingress if "from" not in r]
    assert {p["port"] for r in open_rules for p in r["ports"]} == {8000, 50051}
    [ops_rule] = [r for r in ingress if any(p["port"] == 9100 for p in r["ports"])]
    assert ops_rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]


def test_termination_grace_covers_prestop_and_drain(overlay: tuple[str, Docs]) -> None:
    _, docs = overlay
    pod = find(docs, "Deployment", "videoprism")["spec"]["template"]["spec"]
    config = find(docs, "ConfigMap", "videoprism-config")["data"]
    command = _container(docs)["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    sleep_s = float(command[1])
    drain_s = float(config["VIDEOPRISM_DRAIN_TIMEOUT_S"])
    assert sleep_s > 0
    grace_s = pod["terminationGracePeriodSeconds"]
    # The same arithmetic the server checks at start-up, from the same numbers.
    assert float(config["VIDEOPRISM_TERMINATION_GRACE_S"]) == grace_s
    assert float(config["VIDEOPRISM_PRESTOP_S"]) == sleep_s
    budget = ShutdownBudget(grace_s, sleep_s, drain_s, float(config["VIDEOPRISM_DECODE_TIMEOUT_S"]))
    assert budget.problems() == [] and budget.warnings() == []
    assert grace_s >= sleep_s + drain_s + EXIT_MARGIN_S


def test_pod_is_non_root_with_read_only_root(overlay: tuple[str, Docs]) -> None:
    _, docs = overlay
    pod = find(docs, "Deployment", "videoprism")["spec"]["template"]["spec"]
    c = _container(docs)
    sc = c["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert pod["automountServiceAccountToken"] is False
    # The uid must be the one the image creates, or runAsNonRoot plus file permissions break at start-up.
    for dockerfile in ("Dockerfile", "Dockerfile.gpu"):
        users = re.findall(r"^USER (\d+):(\d+)$", (ROOT / "docker" / dockerfile).read_text(), re.M)
        assert users == [
            (str(pod["securityContext"]["runAsUser"]), str(pod["securityContext"]["runAsGroup"]))
        ]
    # The only writable path is /tmp, backed by a size-limited emptyDir.
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert set(mounts) == {"/tmp"}
    assert "sizeLimit" in volumes[mounts["/tmp"]]["emptyDir"]


def test_gpu_resources_only_in_gpu_overlay(overlay: tuple[str, Docs]) -> None:
    name, docs = overlay
    c = _container(docs)
    pod = find(docs, "Deployment", "videoprism")["spec"]["template"]["spec"]
    assert c["image"].endswith(f"-{name}")
    if name == "gpu":
        assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
        assert c["resources"]["requests"]["nvidia.com/gpu"] == 1
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    else:
        assert "nvidia.com/gpu" not in json.dumps(docs)
        assert "tolerations" not in pod


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_selectors_and_references_line_up(overlay: tuple[str, Docs]) -> None:
    _, docs = overlay
    deploy = find(docs, "Deployment", "videoprism")
    pod_labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert _selects(deploy["spec"]["selector"]["matchLabels"], pod_labels)
    for svc_name in ("videoprism", "videoprism-headless"):
        svc = find(docs, "Service", svc_name)
        assert _selects(svc["spec"]["selector"], pod_labels)
        for port in svc["spec"]["ports"]:
            assert "appProtocol" in port
    assert find(docs, "Service", "videoprism-headless")["spec"]["clusterIP"] == "None"
    assert _selects(
        find(docs, "PodDisruptionBudget", "videoprism")["spec"]["selector"]["matchLabels"], pod_labels
    )
    hpa = find(docs, "HorizontalPodAutoscaler", "videoprism")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "videoprism",
    }
    # Scraped exactly once: the ServiceMonitor matches one Service, the ops one, on a port it has.
    monitor = find(docs, "ServiceMonitor", "videoprism")
    services = [
        d for d in docs
        if d["kind"] == "Service" and _selects(monitor["spec"]["selector"]["matchLabels"], d["metadata"]["labels"])
    ]  # fmt: skip
    assert [s["metadata"]["name"] for s in services] == ["videoprism-ops"]
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in services[0]["spec"]["ports"]}
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


def test_hpa_metric_per_overlay(overlay: tuple[str, Docs]) -> None:
    name, docs = overlay
    hpa = find(docs, "HorizontalPodAutoscaler", "videoprism")["spec"]
    pdb = find(docs, "PodDisruptionBudget", "videoprism")["spec"]
    assert hpa["minReplicas"] > pdb["maxUnavailable"]  # a drain never takes the service to zero
    [metric] = hpa["metrics"]
    if name == "gpu":
        assert metric["type"] == "Pods"
        metric_name = metric["pods"]["metric"]["name"]
        contract = yaml.safe_load((ROOT / "deploy" / "metrics.yaml").read_text())["metrics"]
        assert contract[metric_name]["type"] == "gauge"
    else:
        assert metric["resource"]["name"] == "cpu"


def test_redis_is_a_bounded_lru_cache_the_config_points_at(overlay: tuple[str, Docs]) -> None:
    _, docs = overlay
    redis = find(docs, "Deployment", "videoprism-redis")["spec"]["template"]["spec"]["containers"][0]
    args = redis["args"]
    assert args[args.index("--maxmemory-policy") + 1] == "allkeys-lru"
    maxmemory_mb = int(args[args.index("--maxmemory") + 1].removesuffix("mb"))
    limit_mi = int(redis["resources"]["limits"]["memory"].removesuffix("Mi"))
    assert limit_mi > maxmemory_mb * 1.2  # headroom for Redis' own overhead
    url = find(docs, "ConfigMap", "videoprism-config")["data"]["VIDEOPRISM_REDIS_URL"]
    host, port = re.fullmatch(r"redis://([^:/]+):(\d+)/\d+", url).groups()  # type: ignore[union-attr]
    svc = find(docs, "Service", host)
    assert int(port) in {p["port"] for p in svc["spec"]["ports"]}


def _egress_allows(policy: dict[str, Any], address: str, port: int) -> bool:
    """Whether any ipBlock egress rule of `policy` lets the pod reach address:port over TCP."""
    ip = ipaddress.ip_address(address)
    for rule in policy["spec"]["egress"]:
        ports = {p["port"] for p in rule.get("ports", []) if p.get("protocol", "TCP") == "TCP"}
        if rule.get("ports") and port not in ports:
            continue
        for peer in rule.get("to", []):
            block = peer.get("ipBlock")
            if block is None:
                continue
            net = ipaddress.ip_network(block["cidr"])
            excepted = any(ip in ipaddress.ip_network(e) for e in block.get("except", []))
            if ip.version == net.version and ip in net and not excepted:
                return True
    return False


BLOCKED = [
    "169.254.169.254",  # cloud metadata (AWS, GCP, Azure)
    "fd00:ec2::254",  # AWS metadata over IPv6
    "10.96.0.1",  # a typical kube API service IP
    "172.20.3.4",
    "192.168.1.10",
    "100.64.0.10",  # CGNAT pod ranges
    "127.0.0.1",
    "::1",
    "::ffff:10.0.0.1",  # IPv4-mapped private address
    "fe80::1",
]


@pytest.mark.parametrize("address", BLOCKED)
def test_egress_blocks_internal_and_metadata_addresses(overlay: tuple[str, Docs], address: str) -> None:
    _, docs = overlay
    policy = find(docs, "NetworkPolicy", "videoprism")
    assert not _egress_allows(policy, address, 443)
    assert not _egress_allows(policy, address, 80)


def test_egress_allows_the_internet_dns_and_redis(overlay: tuple[str, Docs]) -> None:
    _, docs = overlay
    policy = find(docs, "NetworkPolicy", "videoprism")
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    for public in ("93.184.215.14", "8.8.8.8", "2606:4700::6810:84e5"):
        assert _egress_allows(policy, public, 443)
    assert not _egress_allows(policy, "8.8.8.8", 22)  # web ports only
    peers = [p for rule in policy["spec"]["egress"] for p in rule.get("to", [])]
    dns = [p for p in peers if p.get("podSelector", {}).get("matchLabels") == {"k8s-app": "kube-dns"}]
    assert dns, "DNS egress to kube-dns is required once egress is restricted"
    redis_pod = find(docs, "Deployment", "videoprism-redis")["spec"]["template"]["metadata"]["labels"]
    assert any(
        "ipBlock" not in p and _selects(p.get("podSelector", {}).get("matchLabels", {"-": "-"}), redis_pod)
        for p in peers
    )
