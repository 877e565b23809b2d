"""Loads, reloads and unloads the served models while the server runs (admin routes and SIGHUP).

Every change builds and warms the new engine first, off to the side, and only then swaps it in
(`ModelRegistry.put`), so a bundle that fails to verify or load leaves what was served serving, and
requests never wait on a load. Changes run one at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from service.core import InferenceCore
from service.core.model_registry import ModelRegistry, ServedModel
from service.errors import BundleInvalidError, ModelExistsError, ServiceError
from service.model_catalog import BundleEntry, check_name, configured_bundles, read_manifest
from service.settings import Settings
from videoprism_bundle.errors import BundleError
from videoprism_bundle.loader import Bundle, load_bundle

log = logging.getLogger(__name__)

CoreFactory = Callable[[Bundle], InferenceCore]
BundleLoader = Callable[[Path], Bundle]


@dataclass
class SyncReport:
    """What one re-read of the configured list (SIGHUP) changed, by model name."""

    loaded: list[str] = field(default_factory=list)
    reloaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


class ModelService:
    def __init__(
        self,
        settings: Settings,
        registry: ModelRegistry,
        build_core: CoreFactory,
        load_bundle: BundleLoader = load_bundle,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._build_core = build_core
        self._load_bundle = load_bundle
        self._lock = asyncio.Lock()

    async def load_configured(self) -> None:
        """Start-up: every configured bundle, then the default. Any failure fails the start."""
        async with self._lock:
            for entry in configured_bundles(self._settings):
                self._registry.put(entry.name, await self._start(entry.path), entry.path)
            if self._settings.default_model:
                self._registry.set_default(self._settings.default_model)

    async def load(self, name: str, path: Path) -> ServedModel:
        async with self._lock:
            if check_name(name) in self._registry.names:
                raise ModelExistsError(f"model {name!r} is already served; reload it instead")
            self._registry.put(name, await self._start(path), path)
            log.info("model loaded", extra={"model": name, "path": str(path)})
            return self._served(name)

    async def reload(self, name: str, path: Path | None = None) -> ServedModel:
        """Rebuilds `name` from its bundle directory (or `path`) and swaps it in; requests already on the
        old engine finish on it."""
        async with self._lock:
            path = path or self._registry.path_of(name)
            self._registry.put(name, await self._start(path), path)
            log.info("model reloaded", extra={"model": name, "path": str(path)})
            return self._served(name)

    async def unload(self, name: str) -> None:
        async with self._lock:
            self._registry.remove(name)
            log.info("model unloaded", extra={"model": name})

    async def sync(self) -> SyncReport:
        """Re-reads the configured list: loads new entries and reloads those whose path or bundle content
        changed. Models loaded through the admin routes and entries no longer listed are left as they are
        (unload them explicitly). A failing entry is reported and the others still proceed."""
        report = SyncReport()
        try:
            entries = configured_bundles(self._settings)
        except ServiceError as error:
            report.failed["*"] = error.message
            return report
        async with self._lock:
            served = {model.name: model for model in self._registry.served()}
            for entry in entries:
                current = served.get(entry.name)
                if current is not None and not _changed(current, entry):
                    report.unchanged.append(entry.name)
                    continue
                try:
                    core = await self._start(entry.path)
                except ServiceError as error:
                    report.failed[entry.name] = error.message
                    continue
                self._registry.put(entry.name, core, entry.path)
                (report.loaded if current is None else report.reloaded).append(entry.name)
        log.info("bundle list re-read", extra={"report": report.__dict__})
        return report

    def _served(self, name: str) -> ServedModel:
        return next(model for model in self._registry.served() if model.name == name)

    async def _start(self, path: Path) -> InferenceCore:
        try:
            bundle = await asyncio.to_thread(self._load_bundle, path)
        except BundleError as error:
            raise BundleInvalidError(f"bundle {path}: {error}") from None
        core = self._build_core(bundle)
        try:
            await core.start()
        except ServiceError:
            raise
        except Exception as error:
            await core.drain(0)
            raise BundleInvalidError(f"bundle {path} failed to start: {error}") from error
        return core


def _changed(current: ServedModel, entry: BundleEntry) -> bool:
    if current.path.resolve() != entry.path.resolve():
        return True
    manifest = read_manifest(entry.path)
    return manifest is None or manifest.bundle_id != current.core.bundle.bundle_id
