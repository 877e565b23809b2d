"""A small kustomize renderer for the subset deploy/k8s uses, so CI can validate the rendered manifests
on a machine without `kubectl kustomize` or `kustomize`.

Supported: `resources` (files and directories), `patches` with JSON 6902 operations (add, remove, replace)
selected by `target`, `namespace`, and `images` (newName/newTag/digest). Anything else in a
kustomization (generators, strategic-merge patches, namePrefix, labels, components, ...) raises
NotImplementedError rather than being silently ignored. tests/deploy/test_kustomize_lite.py checks it
against the real kustomize wherever kubectl is installed.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]

SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "patches", "namespace", "images"}
# Kinds the namespace transformer must leave alone (kustomize keeps the same list).
CLUSTER_SCOPED = {
    "APIService", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "IngressClass",
    "MutatingWebhookConfiguration", "Namespace", "PersistentVolume", "PriorityClass", "StorageClass",
    "ValidatingWebhookConfiguration",
}  # fmt: skip


def build(directory: Path) -> list[Doc]:
    """Render the kustomization in `directory`, like `kubectl kustomize directory`."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text()) or {}
    unsupported = set(kustomization) - SUPPORTED_KEYS
    if unsupported:
        raise NotImplementedError(f"{directory}: unsupported kustomization fields {sorted(unsupported)}")
    docs: list[Doc] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            docs.extend(build(path))
        else:
            docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for patch in kustomization.get("patches", []):
        _apply_patch(docs, patch, directory)
    if namespace := kustomization.get("namespace"):
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = namespace
    for image in kustomization.get("images", []):
        for doc in docs:
            _set_images(doc, image)
    _check_unique(docs)
    return docs


def resource_id(doc: Doc) -> tuple[str, str, str, str]:
    meta = doc["metadata"]
    return (doc["apiVersion"], doc["kind"], meta.get("namespace", ""), meta["name"])


def _check_unique(docs: list[Doc]) -> None:
    seen: set[tuple[str, str, str, str]] = set()
    for doc in docs:
        rid = resource_id(doc)
        if rid in seen:
            raise ValueError(f"duplicate resource {rid}")
        seen.add(rid)


def _matches(doc: Doc, target: dict[str, str]) -> bool:
    group, _, version = doc["apiVersion"].rpartition("/")
    meta = doc["metadata"]
    checks = {
        "group": group,
        "version": version,
        "kind": doc["kind"],
        "namespace": meta.get("namespace", ""),
    }
    for key, wanted in target.items():
        if key == "name":
            if not re.fullmatch(wanted, meta["name"]):  # kustomize treats target names as anchored regexes
                return False
        elif key in checks:
            if checks[key] != wanted:
                return False
        else:
            raise NotImplementedError(f"patch target field {key!r}")
    return True


def _apply_patch(docs: list[Doc], patch: dict[str, Any], directory: Path) -> None:
    if set(patch) - {"path", "patch", "target"}:
        raise NotImplementedError(f"patch fields {sorted(patch)}")
    text = (directory / patch["path"]).read_text() if "path" in patch else patch["patch"]
    operations = yaml.safe_load(text)
    if not isinstance(operations, list):
        raise NotImplementedError("strategic-merge patches; use JSON 6902 operations")
    if "target" not in patch:
        raise ValueError("a JSON 6902 patch needs a target")
    hits = [d for d in docs if _matches(d, patch["target"])]
    if not hits:
        raise ValueError(f"patch target {patch['target']} matches no resource")
    for doc in hits:
        for op in operations:
            _apply_operation(doc, op)


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"JSON pointer must start with '/': {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _apply_operation(doc: Doc, op: dict[str, Any]) -> None:
    *parents, last = _pointer(op["path"])
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    kind = op["op"]
    value = copy.deepcopy(op.get("value"))
    if isinstance(node, list):
        if kind == "add":
            node.insert(len(node) if last == "-" else int(last), value)
        elif kind == "replace":
            node[int(last)] = value
        elif kind == "remove":
            del node[int(last)]
        else:
            raise NotImplementedError(f"JSON 6902 op {kind!r}")
        return
    if kind in ("replace", "remove") and last not in node:
        raise ValueError(f"{kind} of missing path {op['path']}")  # RFC 6902: the target must exist
    if kind in ("add", "replace"):
        node[last] = value
    elif kind == "remove":
        del node[last]
    else:
        raise NotImplementedError(f"JSON 6902 op {kind!r}")


def _image_name(image: str) -> str:
    image = image.split("@", 1)[0]
    slash = image.rfind("/")
    colon = image.rfind(":")
    return image[:colon] if colon > slash else image


def _set_images(node: Any, rule: dict[str, str]) -> None:
    """Rewrite `image` of every entry of any `containers`/`initContainers` list, as kustomize does."""
    if isinstance(node, list):
        for item in node:
            _set_images(item, rule)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ("containers", "initContainers") and isinstance(value, list):
            for container in value:
                image = container.get("image", "")
                if _image_name(image) != rule["name"]:
                    continue
                name = rule.get("newName", rule["name"])
                if "digest" in rule:
                    container["image"] = f"{name}@{rule['digest']}"
                elif "newTag" in rule:
                    container["image"] = f"{name}:{rule['newTag']}"
                else:
                    container["image"] = name + image[len(_image_name(image)) :]
        else:
            _set_images(value, rule)
