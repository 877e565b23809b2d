"""Resolve a host once and validate every answer; the fetcher connects only to the addresses returned here.

Validating all answers (not just the one we connect to) means a name that resolves to both a public and a
private address is refused: a rebinding attacker cannot win by racing which answer gets picked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Protocol

from service.errors import FetchFailedError, UrlForbiddenError
from service.media.address_policy import IPAddress, forbidden_reason
from service.media.settings import MediaSettings
from service.media.url_policy import ParsedUrl


class Resolver(Protocol):
    """Turns a host name into addresses. One call per connection attempt; the caller never asks twice."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]: ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo), run off the event loop."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchFailedError(f"cannot resolve host {host!r}") from exc
        out: list[IPAddress] = []
        for family, _, _, _, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            addr = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if family == socket.AF_INET6 and len(sockaddr) >= 4 and sockaddr[3]:
                addr = ipaddress.IPv6Address(f"{addr}%{sockaddr[3]}")
            if addr not in out:
                out.append(addr)
        return out


async def resolve_validated(url: ParsedUrl, settings: MediaSettings, resolver: Resolver) -> list[IPAddress]:
    """The addresses to connect to for `url`, every one of them allowed by the address policy.

    Raises UrlForbiddenError when any answer is forbidden, FetchFailedError when there is none.
    """
    if url.ip_literal is not None:
        addrs: list[IPAddress] = [url.ip_literal]
    else:
        addrs = await resolver.resolve(url.host, url.port)
    if not addrs:
        raise FetchFailedError(f"host {url.host!r} has no addresses")
    for addr in addrs:
        reason = forbidden_reason(addr, settings.allow_networks)
        if reason is not None:
            raise UrlForbiddenError(f"{url.host} resolves to a forbidden address ({reason})")
    return addrs
