"""API keys with scopes, from the environment (plain keys, every scope) and from a file of hashed keys.

The file holds one key a line, `sha256:<hex of the key> scopes=video,text [name=<label>]`; `#` starts a
comment. Only hashes are stored, so the file can be handed around like a public list. It is re-read when
its mtime changes (looked at no more than once a second), so keys are added or revoked without a restart;
a file that no longer parses keeps the previous keys and logs why.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from service.errors import PermissionDeniedError, UnauthenticatedError

log = logging.getLogger(__name__)

_RELOAD_CHECK_S = 1.0


class Scope(StrEnum):
    VIDEO = "video"
    TEXT = "text"
    JOBS = "jobs"
    ADMIN = "admin"


ALL_SCOPES = frozenset(Scope)


@dataclass(frozen=True)
class Principal:
    """Who is calling: `key_id` names the key in rate limits and logs without revealing it."""

    key_id: str
    scopes: frozenset[Scope]

    def require(self, scope: Scope | None) -> None:
        if scope is not None and scope not in self.scopes:
            raise PermissionDeniedError(f"this API key lacks the '{scope}' scope")


ANONYMOUS = Principal("anonymous", ALL_SCOPES)


@dataclass(frozen=True)
class _Entry:
    digest: bytes
    principal: Principal


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def parse_key_file(text: str) -> list[_Entry]:
    """Raises ValueError naming the line that does not parse."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        hashed, *fields = line.split()
        algorithm, _, hex_digest = hashed.partition(":")
        if algorithm != "sha256" or len(hex_digest) != 64:
            raise ValueError(f"line {number}: expected 'sha256:<64 hex digits>'")
        options = dict(field.partition("=")[::2] for field in fields)
        unknown = set(options) - {"scopes", "name"}
        if unknown:
            raise ValueError(f"line {number}: unknown field(s) {sorted(unknown)}")
        try:
            scopes = frozenset(Scope(s.strip()) for s in options.get("scopes", "").split(",") if s.strip())
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}; scopes are {sorted(ALL_SCOPES)}") from exc
        digest = bytes.fromhex(hex_digest)
        key_id = options.get("name") or hex_digest[:12]
        entries.append(_Entry(digest, Principal(key_id, scopes)))
    return entries


class KeyStore:
    """Answers "which principal is this bearer token"; off (everyone anonymous) when no key is configured."""

    def __init__(self, plain_keys: Iterable[str], key_file: Path | None = None) -> None:
        self._plain = [
            _Entry(_digest(k), Principal(_digest(k).hex()[:12], ALL_SCOPES)) for k in plain_keys if k
        ]
        self._file = key_file
        self._file_entries: list[_Entry] = []
        self._file_mtime: int | None = None
        self._next_check = 0.0
        if key_file is not None:
            self._file_entries = parse_key_file(key_file.read_text())  # a bad file fails at start-up
            self._file_mtime = key_file.stat().st_mtime_ns

    @property
    def enabled(self) -> bool:
        return bool(self._plain) or self._file is not None

    def authenticate(self, authorization: str | None) -> Principal:
        if not self.enabled:
            return ANONYMOUS
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthenticatedError("missing API key: send 'Authorization: Bearer <key>'")
        self._maybe_reload()
        presented = _digest(token.strip())
        found: Principal | None = None
        # Compare against every entry without stopping early, so timing does not tell which one matched.
        for entry in (*self._plain, *self._file_entries):
            if hmac.compare_digest(presented, entry.digest):
                found = entry.principal
        if found is None:
            raise UnauthenticatedError("unknown API key")
        return found

    def _maybe_reload(self) -> None:
        if self._file is None or time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + _RELOAD_CHECK_S
        try:
            mtime = self._file.stat().st_mtime_ns
            if mtime == self._file_mtime:
                return
            self._file_mtime = mtime  # a broken version is reported once, not every second
            self._file_entries = parse_key_file(self._file.read_text())
            log.info("API key file reloaded", extra={"keys": len(self._file_entries)})
        except (OSError, ValueError) as exc:
            log.error("API key file not reloaded, keeping the previous keys: %s", exc)


# The caller of the request this task serves, set by the front door once the key is checked.
principal_var: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)
