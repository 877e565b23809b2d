"""kustomize_lite renders what kustomize renders: checked on tiny inputs and against the real tool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy import kustomize_lite
from tests.deploy.conftest import K8S, OVERLAYS, kustomize_command

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - {name: app, image: "registry:5000/team/app:1.0"}
        - {name: side, image: busybox}
      initContainers:
        - {name: init, image: "team/app@sha256:abc"}
"""


def _write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def test_overlay_patches_namespace_and_images(tmp_path: Path) -> None:
    _write(tmp_path, {
        "base/kustomization.yaml": "resources: [deploy.yaml, ns.yaml]\n",
        "base/deploy.yaml": DEPLOYMENT,
        "base/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n",
        "overlay/kustomization.yaml": """
namespace: prod
resources: [../base]
images:
  - {name: registry:5000/team/app, newName: example.com/app, newTag: "2.0"}
patches:
  - target: {group: apps, version: v1, kind: Deployment, name: we.*}
    patch: |
      - {op: add, path: /spec/replicas, value: 3}
      - {op: add, path: /spec/template/spec/containers/-, value: {name: extra, image: nginx}}
      - {op: remove, path: /spec/template/spec/containers/1}
""",
    })  # fmt: skip
    docs = {d["kind"]: d for d in kustomize_lite.build(tmp_path / "overlay")}
    deploy = docs["Deployment"]
    assert deploy["metadata"]["namespace"] == "prod"
    assert "namespace" not in docs["Namespace"]["metadata"]  # cluster-scoped
    assert deploy["spec"]["replicas"] == 3
    containers = deploy["spec"]["template"]["spec"]["containers"]
    # The port in the registry host is not a tag; the image rule rewrites only the matching name.
    assert [(c["name"], c["image"]) for c in containers] == [
        ("app", "example.com/app:2.0"),
        ("extra", "nginx"),
    ]
    init = deploy["spec"]["template"]["spec"]["initContainers"][0]["image"]
    assert init == "team/app@sha256:abc"  # a different image name: untouched


@pytest.mark.parametrize(
    ("kustomization", "error"),
    [
        ("resources: [d.yaml]\nnamePrefix: x-\n", NotImplementedError),
        ("resources: [d.yaml]\npatches: [{target: {kind: Deployment}, patch: 'spec: {replicas: 2}'}]\n",
         NotImplementedError),
        ("resources: [d.yaml]\npatches: [{target: {kind: Service}, patch: '[{op: add, path: /x, value: 1}]'}]\n",
         ValueError),
        ("resources: [d.yaml]\npatches: [{target: {kind: Deployment}, patch: '[{op: replace, path: /nope, value: 1}]'}]\n",
         ValueError),
        ("resources: [d.yaml, d.yaml]\n", ValueError),
    ],
    ids=["namePrefix", "strategic-merge", "target-matches-nothing", "replace-missing", "duplicate"],
)  # fmt: skip
def test_unsupported_or_wrong_input_fails_loudly(tmp_path: Path, kustomization: str, error: type) -> None:
    _write(tmp_path, {"kustomization.yaml": kustomization, "d.yaml": DEPLOYMENT})
    with pytest.raises(error):
        kustomize_lite.build(tmp_path)


@pytest.mark.parametrize("overlay_name", OVERLAYS)
def test_agrees_with_real_kustomize(overlay_name: str) -> None:
    command = kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed: cannot compare with the real renderer")
    directory = K8S / "overlays" / overlay_name
    out = subprocess.run([*command, str(directory)], capture_output=True, text=True, check=True, timeout=60)
    real = {kustomize_lite.resource_id(d): d for d in yaml.safe_load_all(out.stdout) if d}
    lite = {kustomize_lite.resource_id(d): d for d in kustomize_lite.build(directory)}
    assert lite.keys() == real.keys()
    for rid, doc in real.items():
        assert lite[rid] == doc, rid
