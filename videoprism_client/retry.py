"""Retry and deadline policy shared by every client: which failures are retried, how long to wait, and
when to give up. Pure computation; the sync and async clients do the actual calling and sleeping."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from videoprism_client.errors import DeadlineExceeded, VideoPrismError


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped at `max_delay_s`. A server's Retry-After wins over
    the computed backoff (it knows how long its queue needs), but never beyond `max_retry_after_s`."""

    max_attempts: int = 5
    base_delay_s: float = 0.2
    max_delay_s: float = 10.0
    max_retry_after_s: float = 60.0

    def delay(self, attempt: int, error: VideoPrismError, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if error.retry_after_s is not None:
            return min(max(error.retry_after_s, 0.0), self.max_retry_after_s)
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return (rng or random).uniform(0, ceiling)


NO_RETRY = RetryPolicy(max_attempts=1)


class Deadline:
    """An absolute point on the monotonic clock for one call, retries included; None means no limit."""

    def __init__(self, timeout_s: float | None) -> None:
        self.at = None if timeout_s is None else time.monotonic() + timeout_s

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def check(self, attempts: int) -> None:
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            raise DeadlineExceeded("deadline passed before an answer came", attempts=attempts)


def next_wait(policy: RetryPolicy, deadline: Deadline, attempt: int, error: VideoPrismError) -> float | None:
    """The wait before the next attempt, or None when the error should be raised now: not retryable,
    attempts used up, or the wait would end past the deadline (failing early beats a doomed sleep)."""
    if not error.retryable or attempt >= policy.max_attempts:
        return None
    wait = policy.delay(attempt, error)
    remaining = deadline.remaining()
    if remaining is not None and wait >= remaining:
        return None
    return wait


class Attempts:
    """The attempts of one call under one deadline, for the sync and async retry loops alike:
    `begin()` before each attempt, `wait_after(error)` after a failed one (the pause, or the error
    raised with the attempt count when no retry is left)."""

    def __init__(self, policy: RetryPolicy, timeout_s: float | None) -> None:
        self.policy = policy
        self.deadline = Deadline(timeout_s)
        self.count = 0

    def begin(self) -> int:
        """The 1-based number of the attempt about to start; raises `DeadlineExceeded` once it passed."""
        self.count += 1
        self.deadline.check(self.count - 1)
        return self.count

    def wait_after(self, error: VideoPrismError) -> float:
        wait_s = next_wait(self.policy, self.deadline, self.count, error)
        if wait_s is None:
            error.attempts = self.count
            raise error
        return wait_s
