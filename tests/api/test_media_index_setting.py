"""`VIDEOPRISM_MEDIA_IN_PROCESS_INDEX` reaches the media layer: on by default, off from the environment."""

from __future__ import annotations

import pytest

from service.settings import Settings


def test_in_process_index_is_on_by_default() -> None:
    assert Settings().media_settings().in_process_index is True


@pytest.mark.parametrize("value", ["false", "0"])
def test_environment_turns_the_in_process_index_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("VIDEOPRISM_MEDIA_IN_PROCESS_INDEX", value)
    assert Settings().media_settings().in_process_index is False
