"""Fixtures of the inference-core tests: a tiny real bundle (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.bundle_factory import TinyBundleSpec, build_tiny_bundle
from videoprism_bundle.loader import Bundle, load_bundle


@pytest.fixture(scope="session")
def tiny_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bundle(tmp_path_factory.mktemp("tiny_bundle"), TinyBundleSpec())


@pytest.fixture(scope="session")
def tiny_bundle(tiny_bundle_dir: Path) -> Bundle:
    return load_bundle(tiny_bundle_dir)
