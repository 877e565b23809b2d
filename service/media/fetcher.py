"""Download a user URL into a file: redirects re-validated hop by hop, byte cap, timeouts, sha256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from service.errors import (
    DownloadTooLargeError,
    FetchFailedError,
    RedirectForbiddenError,
    ServiceError,
    TooManyRedirectsError,
    UrlForbiddenError,
    UrlInvalidError,
)
from service.media.address_policy import IPAddress
from service.media.http_connection import Deadline, PinnedConnection, make_tls_context
from service.media.resolver import Resolver, resolve_validated
from service.media.settings import MediaSettings
from service.media.url_policy import ParsedUrl, parse_url

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Download:
    """The body of the final response, written to `path`."""

    path: Path
    sha256: str
    size_bytes: int
    final_url: str


class UrlFetcher:
    """Fetches one URL at a time under `settings`; stateless apart from the TLS context it reuses."""

    def __init__(self, settings: MediaSettings, resolver: Resolver) -> None:
        self._settings = settings
        self._resolver = resolver
        self._tls = make_tls_context(settings)

    async def download(self, url: str, dest: Path) -> Download:
        """Fetch `url` into `dest` (created or truncated). On any error `dest` may hold a partial body;
        the caller owns and removes it.

        Raises the url_*/scheme/port/redirect/fetch/download_* ServiceErrors.
        """
        deadline = Deadline(self._settings.total_timeout_s)
        current = parse_url(url, self._settings)
        for hop in range(self._settings.max_redirects + 1):
            try:
                outcome = await self._fetch_once(current, dest, deadline)
            except UrlForbiddenError as exc:
                if hop == 0:
                    raise
                raise RedirectForbiddenError(f"redirect to a forbidden address: {exc.message}") from exc
            if isinstance(outcome, Download):
                return outcome
            if hop == self._settings.max_redirects:
                break
            current = self._next_hop(current, outcome)
        raise TooManyRedirectsError(f"more than {self._settings.max_redirects} redirects")

    def _next_hop(self, current: ParsedUrl, location: str) -> ParsedUrl:
        try:
            target = urljoin(current.url, location)
        except ValueError as exc:
            raise RedirectForbiddenError("redirect to a malformed URL") from exc
        try:
            nxt = parse_url(target, self._settings)
        except UrlInvalidError as exc:
            raise RedirectForbiddenError(f"redirect to an invalid URL: {exc.message}") from exc
        except ServiceError as exc:
            raise RedirectForbiddenError(f"redirect to a forbidden URL: {exc.message}") from exc
        if current.scheme == "https" and nxt.scheme != "https":
            raise RedirectForbiddenError("redirect from https to http")
        return nxt

    async def _fetch_once(self, url: ParsedUrl, dest: Path, deadline: Deadline) -> str | Download:
        """One request: the Location of a redirect, or the Download after writing a 2xx body to `dest`."""
        addrs = await deadline.run(
            resolve_validated(url, self._settings, self._resolver), None, "resolving the host"
        )
        conn = await self._connect_any(url, addrs, deadline)
        try:
            await deadline.run(conn.send_get(url, self._settings), None, "sending the request")
            head = await deadline.run(
                conn.read_head(), self._settings.first_byte_timeout_s, "waiting for the response"
            )
            if head.status in _REDIRECTS:
                location = head.header("location")
                if not location:
                    raise FetchFailedError(f"redirect {head.status} without a Location")
                return location
            if not 200 <= head.status < 300:
                raise FetchFailedError(f"origin answered HTTP {head.status}")
            declared = head.header("content-length")
            if (
                declared is not None
                and declared.strip().isdigit()
                and int(declared) > self._settings.max_bytes
            ):
                raise DownloadTooLargeError(f"declared size exceeds {self._settings.max_bytes} bytes")
            return await deadline.run(self._stream_body(conn, dest, url.url), None, "downloading the body")
        finally:
            await conn.close()

    async def _connect_any(
        self, url: ParsedUrl, addrs: list[IPAddress], deadline: Deadline
    ) -> PinnedConnection:
        last: FetchFailedError | None = None
        for addr in addrs:
            try:
                return await PinnedConnection.open(url, addr, self._settings, self._tls, deadline)
            except FetchFailedError as exc:
                last = exc
        assert last is not None
        raise last

    async def _stream_body(self, conn: PinnedConnection, dest: Path, final_url: str) -> Download:
        written = 0
        digest = hashlib.sha256()
        with dest.open("wb") as out:
            async for chunk in conn.body():
                written += len(chunk)
                # Checked per chunk, so a lying Content-Length or an endless chunked body stops at the cap.
                if written > self._settings.max_bytes:
                    raise DownloadTooLargeError(f"body exceeds {self._settings.max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
        return Download(path=dest, sha256=digest.hexdigest(), size_bytes=written, final_url=final_url)
