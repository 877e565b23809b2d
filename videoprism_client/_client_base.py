"""What the four clients share apart from their transport: the default deadline and the retry policy of
a call, and the context-manager protocol that closes them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self

from videoprism_client.retry import Attempts, RetryPolicy

DEFAULT_TIMEOUT_S = 120.0


class ClientBase:
    """`timeout_s` is the default deadline of one call, retries included; None means no limit."""

    def __init__(self, timeout_s: float | None, retry: RetryPolicy | None) -> None:
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()

    def _attempts(self, timeout_s: float | None) -> Attempts:
        """The attempts of one call: its own deadline when given, else the client's default."""
        return Attempts(self.retry, timeout_s if timeout_s is not None else self.timeout_s)


class SyncClientBase(ClientBase, ABC):
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None: ...


class AsyncClientBase(ClientBase, ABC):
    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @abstractmethod
    async def close(self) -> None: ...
