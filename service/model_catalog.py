"""The configured bundle list: which bundles the server loads at start-up and on SIGHUP, under which names.

`VIDEOPRISM_BUNDLES` is either `name=path,name=path` or one directory whose subdirectories are bundles
(named after them; hidden ones, such as a copy still being written, are skipped). Without it the single
`VIDEOPRISM_BUNDLE` is the one entry, named by its manifest's `model_name` so existing clients see the
same model id as before.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from service.errors import InvalidRequestError
from service.settings import Settings
from videoprism_bundle.manifest import MANIFEST_NAME, BundleManifest

# Names appear in URL paths (`/v1/admin/models/{name}`) and metric labels.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class BundleEntry:
    name: str
    path: Path


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidRequestError(
            f"model name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def read_manifest(path: Path) -> BundleManifest | None:
    """The bundle's manifest, or None when it cannot be read (loading then says why)."""
    try:
        return BundleManifest.model_validate(json.loads((path / MANIFEST_NAME).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def configured_bundles(settings: Settings) -> list[BundleEntry]:
    """The entries the settings name, in order; raises `InvalidRequestError` for a malformed list."""
    if not settings.bundles:
        manifest = read_manifest(settings.bundle)
        name = manifest.model_name if manifest is not None else settings.bundle.name
        return [BundleEntry(name, settings.bundle)]
    if len(settings.bundles) == 1 and "=" not in settings.bundles[0]:
        return _directory(Path(settings.bundles[0]))
    entries: list[BundleEntry] = []
    for item in settings.bundles:
        name, sep, path = item.partition("=")
        if not sep or not path.strip():
            raise InvalidRequestError(f"VIDEOPRISM_BUNDLES entry {item!r}: expected name=path")
        entries.append(BundleEntry(check_name(name.strip()), Path(path.strip())))
    names = [entry.name for entry in entries]
    if len(set(names)) != len(names):
        raise InvalidRequestError(f"VIDEOPRISM_BUNDLES names a model twice: {', '.join(names)}")
    return entries


def _directory(root: Path) -> list[BundleEntry]:
    if not root.is_dir():
        raise InvalidRequestError(f"VIDEOPRISM_BUNDLES: {root} is neither name=path entries nor a directory")
    entries = [
        BundleEntry(check_name(child.name), child)
        for child in sorted(root.iterdir())
        if child.is_dir() and not child.name.startswith(".") and (child / MANIFEST_NAME).is_file()
    ]
    if not entries:
        raise InvalidRequestError(f"VIDEOPRISM_BUNDLES: {root} holds no bundle directory")
    return entries
