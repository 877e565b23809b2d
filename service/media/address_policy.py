"""Which IP addresses the fetcher may connect to: public unicast only, unless explicitly allowed.

The rule is default-deny: an address must be globally routable, and any IPv6 form that wraps an IPv4
address (mapped, compatible, 6to4, Teredo, NAT64) is judged by the IPv4 address it carries, because a
gateway on the path may unwrap it and deliver the packet to that IPv4 host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
# Metadata endpoints that some clouds serve from otherwise routable-looking ranges.
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254")
)


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries in a well-known translation or tunnelling form."""
    found: list[ipaddress.IPv4Address] = []
    if addr.ipv4_mapped is not None:
        found.append(addr.ipv4_mapped)
    if addr in _V4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    if addr.sixtofour is not None:
        found.append(addr.sixtofour)
    if addr.teredo is not None:
        found.extend(addr.teredo)
    if any(addr in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    return found


def _is_public_v4(addr: ipaddress.IPv4Address) -> bool:
    return (
        addr.is_global
        and addr not in _CGNAT
        and not (addr.is_multicast or addr.is_reserved or addr.is_link_local or addr.is_loopback)
        and addr not in _METADATA
    )


def forbidden_reason(addr: IPAddress, allow: Iterable[IPNetwork] = ()) -> str | None:
    """Why connecting to `addr` is forbidden, or None when it is allowed.

    `allow` lists explicit exceptions (test-only loopback origins); they are checked first.
    """
    if any(addr.version == net.version and addr in net for net in allow):
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            return "scoped IPv6 address"
        if addr in _METADATA:
            return "cloud metadata address"
        wrapped = _embedded_ipv4(addr)
        if wrapped:
            # Mapped and compatible forms are refused outright; tunnel forms only when they wrap a bad IPv4.
            if addr.ipv4_mapped is not None or addr in _V4_COMPATIBLE:
                return "IPv4-mapped or IPv4-compatible IPv6 address"
            if not all(_is_public_v4(v4) for v4 in wrapped):
                return "IPv6 address wrapping a forbidden IPv4 address"
        bad = (
            not addr.is_global
            or addr.is_multicast
            or addr.is_reserved
            or addr.is_link_local
            or addr.is_loopback
            or addr.is_site_local
            or addr.is_unspecified
        )
        return "non-public IPv6 address" if bad else None
    if addr in _METADATA:
        return "cloud metadata address"
    return None if _is_public_v4(addr) else "non-public IPv4 address"
