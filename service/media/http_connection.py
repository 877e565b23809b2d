"""One HTTP/1.1 exchange over a TCP connection to an already validated address (h11 on asyncio streams).

Why not a stock client: httpx and urllib resolve the host name themselves when they connect, a second
lookup that a DNS-rebinding attacker can answer differently. Here the socket goes to the IP we validated,
while TLS still verifies the certificate against the original host name (SNI + hostname check) and the
Host header carries the original name. Bodies are returned as sent: no transparent decompression.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import h11

from service.errors import DownloadTimeoutError, FetchFailedError
from service.media.address_policy import IPAddress
from service.media.settings import MediaSettings
from service.media.url_policy import ParsedUrl

_T = TypeVar("_T")
# A body arrives at the socket's pace: with asyncio's default 64 KiB stream limit a fast origin makes the
# transport pause and resume reading (an epoll_ctl pair) for nearly every chunk, which cost about as much
# event-loop time per clip as the rest of the download. Reads this large cut that to a few per body; a
# connection buffers at most twice the limit.
_READ_CHUNK = 256 * 1024
_STREAM_LIMIT = 512 * 1024
_MAX_HEADER_BYTES = 32 * 1024


@dataclass(frozen=True)
class ResponseHead:
    """Status line and headers (names lower-case)."""

    status: int
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


class Deadline:
    """An absolute point on the event-loop clock shared by every step of one fetch."""

    def __init__(self, seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._at = self._loop.time() + seconds

    def remaining(self) -> float:
        return max(0.0, self._at - self._loop.time())

    async def run(self, aw: Awaitable[_T], step_limit_s: float | None, what: str) -> _T:
        limit = self.remaining() if step_limit_s is None else min(step_limit_s, self.remaining())
        try:
            return await asyncio.wait_for(aw, timeout=limit)
        except TimeoutError as exc:
            raise DownloadTimeoutError(f"timed out while {what}") from exc


def make_tls_context(settings: MediaSettings) -> ssl.SSLContext:
    """Certificate- and hostname-verifying client context; `ca_bundle` adds trust anchors."""
    ctx = ssl.create_default_context()
    if settings.ca_bundle is not None:
        ctx.load_verify_locations(cafile=str(settings.ca_bundle))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _authority(addr: IPAddress, port: int) -> str:
    return f"[{addr}]:{port}" if isinstance(addr, ipaddress.IPv6Address) else f"{addr}:{port}"


class PinnedConnection:
    """A connection to one validated address, optionally tunnelled through an HTTP CONNECT egress proxy."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEADER_BYTES)

    @classmethod
    async def open(
        cls,
        url: ParsedUrl,
        addr: IPAddress,
        settings: MediaSettings,
        tls: ssl.SSLContext,
        deadline: Deadline,
    ) -> PinnedConnection:
        try:
            if settings.egress_proxy is None:
                reader, writer = await deadline.run(
                    asyncio.open_connection(
                        str(addr),
                        url.port,
                        ssl=tls if url.scheme == "https" else None,
                        server_hostname=url.host if url.scheme == "https" else None,
                        limit=_STREAM_LIMIT,
                    ),
                    settings.connect_timeout_s,
                    "connecting",
                )
            else:
                reader, writer = await deadline.run(
                    _open_tunnel(settings.egress_proxy, _authority(addr, url.port)),
                    settings.connect_timeout_s,
                    "connecting through the egress proxy",
                )
                if url.scheme == "https":
                    await deadline.run(
                        writer.start_tls(tls, server_hostname=url.host),
                        settings.connect_timeout_s,
                        "negotiating TLS",
                    )
        except (OSError, ssl.SSLError, ValueError, EOFError, asyncio.LimitOverrunError) as exc:
            raise FetchFailedError(f"cannot connect to {url.host}: {type(exc).__name__}") from exc
        return cls(reader, writer)

    async def send_get(self, url: ParsedUrl, settings: MediaSettings) -> None:
        request = h11.Request(
            method="GET",
            target=url.target.encode("ascii"),
            headers=[
                ("Host", url.host_header),
                ("User-Agent", settings.user_agent),
                ("Accept", "*/*"),
                ("Accept-Encoding", "identity"),
                ("Connection", "close"),
            ],
        )
        try:
            self._writer.write(self._h11.send(request) + (self._h11.send(h11.EndOfMessage()) or b""))
            await self._writer.drain()
        except (OSError, h11.LocalProtocolError) as exc:
            raise FetchFailedError(f"cannot send request: {type(exc).__name__}") from exc

    async def _next_event(self) -> h11.Event:
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise FetchFailedError(f"malformed HTTP response: {exc}") from exc
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            try:
                data = await self._reader.read(_READ_CHUNK)
            except (OSError, ssl.SSLError) as exc:
                raise FetchFailedError(f"connection failed: {type(exc).__name__}") from exc
            self._h11.receive_data(data)

    async def read_head(self) -> ResponseHead:
        while True:
            event = await self._next_event()
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in event.headers)
                return ResponseHead(status=event.status_code, headers=headers)
            raise FetchFailedError("connection closed before a response")

    async def body(self) -> AsyncIterator[bytes]:
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            else:
                raise FetchFailedError("connection closed in the middle of the body")

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            await asyncio.wait_for(self._writer.wait_closed(), timeout=1.0)


async def _open_tunnel(proxy: str, authority: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Ask the egress proxy for a raw tunnel to `authority` (an IP:port we validated, never a name)."""
    parts = urlsplit(proxy)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError("egress_proxy must be http://host:port")
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 3128, limit=_STREAM_LIMIT)
    writer.write(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode("ascii"))
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or status_line[1] != b"200":
        writer.close()
        raise OSError(f"egress proxy refused the tunnel: {head[:80]!r}")
    return reader, writer
