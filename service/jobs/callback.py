"""The completion callback: a POST of the job's final state to the caller's URL, signed so the receiver
can tell it came from this service. The URL passes the same policy as a video URL (scheme, port, host
names, and every resolved address), at creation and again right before sending."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import httpx

from service.jobs.models import JobState
from service.media import MediaSettings, SystemResolver
from service.media.resolver import resolve_validated
from service.media.url_policy import parse_url

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-VideoPrism-Signature"


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body>`; receivers compare it with `hmac.compare_digest`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def callback_body(state: JobState) -> bytes:
    payload = {
        "id": state.id,
        "status": state.status.value,
        "segments_done": state.segments_done,
        "segments_total": state.segments_total,
        "error": {"code": state.error.code, "message": state.error.message} if state.error else None,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


class CallbackSender:
    def __init__(self, media: MediaSettings, secret: str | None, timeout_s: float) -> None:
        self._media = media
        self._secret = secret
        self._timeout_s = timeout_s

    def validate(self, url: str) -> None:
        """Raises the url_* errors of the media URL policy (400 at job creation)."""
        parse_url(url, self._media)

    async def send(self, url: str, state: JobState) -> None:
        """One attempt; a failing receiver is logged, never retried into a loop (the job's state is final
        and readable with GET either way)."""
        body = callback_body(state)
        headers = {"content-type": "application/json"}
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret, body)
        try:
            await resolve_validated(parse_url(url, self._media), self._media, SystemResolver())
            async with httpx.AsyncClient(timeout=self._timeout_s, follow_redirects=False) as client:
                answer = await client.post(url, content=body, headers=headers)
            log.info("job callback answered %d", answer.status_code, extra={"job": state.id})
        except Exception as exc:  # the receiver's failure must not fail the job
            log.warning("job callback failed: %s", exc, extra={"job": state.id})
