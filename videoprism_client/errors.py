"""Typed errors of the client. Every failure carries the service's stable `code` (the same whichever door,
HTTP or gRPC, answered), so callers branch on `code`, never on messages or transport details."""

from __future__ import annotations

# Codes that describe the server's state rather than the request: the same request may succeed later.
RETRYABLE_CODES = frozenset({"overloaded", "draining", "not_ready", "unavailable"})


class VideoPrismError(Exception):
    """A request failed as a whole. `status` is the HTTP status or the gRPC status name; `retry_after_s`
    is the server's Retry-After hint when it gave one."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | str | None = None,
        retry_after_s: float | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s
        self.attempts = attempts

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE_CODES


class DeadlineExceeded(VideoPrismError):
    """The caller's overall deadline passed (retries included) before an answer came."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__("deadline_exceeded", message, attempts=attempts)


class TransportError(VideoPrismError):
    """No answer at all: connection refused or reset, DNS, TLS. Code `unavailable`, hence retried."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__("unavailable", message, attempts=attempts)
