"""Media settings from the environment reach the media layer: `VIDEOPRISM_MEDIA_IN_PROCESS_INDEX` (on by
default), `VIDEOPRISM_DECODER_THREADS` (0, ffmpeg picks, by default) and `VIDEOPRISM_MEDIA_CHUNKED_DECODE` (on by
default)."""

from __future__ import annotations

import pytest

from service.settings import Settings


def test_in_process_index_is_on_by_default() -> None:
    assert Settings().media_settings().in_process_index is True


@pytest.mark.parametrize("value", ["false", "0"])
def test_environment_turns_the_in_process_index_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("VIDEOPRISM_MEDIA_IN_PROCESS_INDEX", value)
    assert Settings().media_settings().in_process_index is False


def test_decoder_threads_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().media_settings().decoder_threads == 0
    monkeypatch.setenv("VIDEOPRISM_DECODER_THREADS", "1")
    assert Settings().media_settings().decoder_threads == 1


def test_chunked_decode_is_on_by_default_and_the_environment_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().media_settings().chunked_decode is True
    monkeypatch.setenv("VIDEOPRISM_MEDIA_CHUNKED_DECODE", "false")
    assert Settings().media_settings().chunked_decode is False
