"""Shared pytest configuration: markers are declared in pyproject.toml; fixtures live next to their tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_dir() -> Path:
    """The project's shared folder (official facts and parity fixtures): $VIDEOPRISM_SHARED, the checkout's
    sibling `shared/`, or the workplace's /work/shared when CI clones the repository elsewhere."""
    candidates = [os.environ.get("VIDEOPRISM_SHARED", ""), str(REPO_ROOT.parent / "shared"), "/work/shared"]
    for candidate in candidates:
        if candidate and Path(candidate, "videoprism").is_dir():
            return Path(candidate)
    return REPO_ROOT.parent / "shared"


SHARED = _shared_dir()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
