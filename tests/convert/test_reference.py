"""The float64 NumPy reference reproduces the official outputs of parity_a, so it can serve as the oracle
for the configurations the shared fixture does not cover (tests/convert/test_config_b.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.convert import reference
from tests.convert.fixtures import ENV_VAR, official_arrays, parity_a

FIXTURE = parity_a()
pytestmark = pytest.mark.skipif(
    FIXTURE is None, reason=f"parity_a fixture not found (../shared/videoprism/parity_a or ${ENV_VAR})"
)
TOL = 1e-5


def _out(name: str) -> np.ndarray:
    assert FIXTURE is not None
    return np.load(FIXTURE / f"out__{name}.npy")


def _input(name: str) -> np.ndarray:
    assert FIXTURE is not None
    return np.load(Path(FIXTURE) / f"{name}.npy")


@pytest.mark.parametrize("inp", ["video_input", "video_input_interp"])
def test_reference_video_encoder_matches_official(inp: str) -> None:
    assert FIXTURE is not None
    got = reference.video_encoder(official_arrays(FIXTURE / "params_video_encoder.npz"), _input(inp), 50.0)
    for what in ("embeddings", "spatial_features"):
        np.testing.assert_allclose(got[what], _out(f"video_encoder__{inp}__{what}"), atol=TOL, rtol=0)


@pytest.mark.parametrize("inp", ["video_input", "video_input_interp"])
def test_reference_lvt_video_matches_official(inp: str) -> None:
    assert FIXTURE is not None
    got = reference.lvt_video(official_arrays(FIXTURE / "params_lvt.npz"), _input(inp), 50.0)
    for what, value in got.items():
        np.testing.assert_allclose(value, _out(f"lvt__{inp}__{what}"), atol=TOL, rtol=0, err_msg=what)


def test_reference_text_matches_official() -> None:
    assert FIXTURE is not None
    ids, pads = _input("text_token_ids"), _input("text_paddings")
    got = reference.lvt_text(official_arrays(FIXTURE / "params_lvt.npz"), ids, pads, 50.0)
    for what, value in got.items():
        np.testing.assert_allclose(value, _out(f"lvt__{what}"), atol=TOL, rtol=0, err_msg=what)
