"""`VIDEOPRISM_BUNDLES`: the forms of the served-model list (a directory of bundles, name=path entries, the
single `bundle` setting) and the mistakes it refuses, read without starting a server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.errors import InvalidRequestError
from service.model_catalog import BundleEntry, configured_bundles
from service.settings import Settings


def _listed(value: str) -> Settings:
    """Settings with VIDEOPRISM_BUNDLES as the environment would give it: one string."""
    return Settings.model_validate({"bundles": value})


def test_bundle_list_forms_and_errors(api_bundle_dir: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    for name in ("b", "a", ".half-copied"):
        shutil.copytree(api_bundle_dir, models / name)
    (models / "notes").mkdir()  # no manifest: not a bundle
    assert configured_bundles(_listed(str(models))) == [
        BundleEntry("a", models / "a"),
        BundleEntry("b", models / "b"),
    ]
    assert configured_bundles(_listed("x=/m/x, y=/m/y")) == [
        BundleEntry("x", Path("/m/x")),
        BundleEntry("y", Path("/m/y")),
    ]
    assert configured_bundles(Settings(bundle=api_bundle_dir)) == [
        BundleEntry("videoprism-tiny-test", api_bundle_dir)
    ]
    for bad, why in (
        ("x=/m/x,x=/m/y", "names a model twice"),
        ("x=/m/x,/m/y", "expected name=path"),
        ("bad name=/m/x", "model name"),
        (str(tmp_path / "missing"), "neither name=path entries nor a directory"),
    ):
        with pytest.raises(InvalidRequestError, match=why):
            configured_bundles(_listed(bad))
