"""The clip-seconds allowance: a computed video is charged its seconds after the fact, so the key's next
video request waits off the debt; text requests and other keys are unaffected."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from service.settings import Settings
from tests.api.server_thread import ServerThread

KEY, OTHER = "clip-key-1", "clip-key-2"


def _video(client: httpx.Client, origin: tuple[str, int], key: str) -> httpx.Response:
    body = {"videos": [{"url": f"{origin[0]}/clip.mp4"}]}
    return client.post("/v1/embed/video", json=body, headers={"authorization": f"Bearer {key}"})


def test_decoded_seconds_are_charged(make_settings: Callable[..., Settings], origin: tuple[str, int]) -> None:
    # One clip-second per second, a bucket of one second: the 3 s test clip leaves the key 2 s in debt.
    settings = make_settings(
        api_keys=f"{KEY},{OTHER}", cache="none", rate_limit_clip_seconds_per_s=1, rate_limit_burst_s=1
    )
    server = ServerThread(settings).start()
    try:
        with server.client() as client:
            first = _video(client, origin, KEY)
            second = _video(client, origin, KEY)
            other = _video(client, origin, OTHER)
            text = client.post(
                "/v1/embed/text", json={"texts": ["x"]}, headers={"authorization": f"Bearer {KEY}"}
            )
    finally:
        assert server.stop() == 0
    assert first.status_code == 200 and "embedding" in first.json()["data"][0], first.text
    assert second.status_code == 429 and second.json()["error"]["code"] == "rate_limited"
    assert int(second.headers["retry-after"]) >= 1
    assert other.status_code == 200 and text.status_code == 200
