"""Strict parsing of user-supplied URLs and the host-name part of the fetch policy.

Anything a lenient parser might read differently from ours (whitespace, control characters, backslashes,
userinfo, numeric hosts other than canonical dotted quads) is refused rather than normalised, so the
host we validate is the host we connect to.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.errors import PortForbiddenError, SchemeForbiddenError, UrlForbiddenError, UrlInvalidError
from service.media.address_policy import IPAddress
from service.media.settings import MediaSettings

_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CANONICAL_V4 = re.compile(r"^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|\d+)$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_ENCODED_CONTROL = re.compile(r"%(0[0-9a-f]|1[0-9a-f]|7f)", re.IGNORECASE)
# Names that reach cloud metadata services or the machine itself, whatever DNS says.
_BUILTIN_DENY = (
    "localhost",
    ".localhost",
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    ".internal",
    ".local",
    ".localdomain",
    ".home.arpa",
)


@dataclass(frozen=True)
class ParsedUrl:
    """A URL that passed the syntax, scheme, port and host-name checks (not yet the address check)."""

    url: str
    scheme: str  # "http" | "https"
    host: str  # lower-case name or IP literal without brackets
    port: int
    target: str  # path and query for the request line
    ip_literal: IPAddress | None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if isinstance(self.ip_literal, ipaddress.IPv6Address) else self.host
        return host if _DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"


def _host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("."):
        return host.endswith(pattern) or host == pattern[1:]
    return host == pattern


def _parse_host(raw: str) -> tuple[str, IPAddress | None]:
    if raw.startswith("["):
        if not raw.endswith("]") or "%" in raw:
            raise UrlInvalidError("malformed IPv6 literal")
        try:
            v6 = ipaddress.IPv6Address(raw[1:-1])
        except ValueError as exc:
            raise UrlInvalidError("malformed IPv6 literal") from exc
        return str(v6), v6
    host = raw.lower()
    if host.endswith("."):
        host = host[:-1]
    if not host or len(host) > 253:
        raise UrlInvalidError("missing or overlong host")
    labels = host.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        # A numeric last label makes browsers and resolvers read an IPv4 number; only the canonical form is safe.
        if not _CANONICAL_V4.match(host):
            raise UrlInvalidError("non-canonical IPv4 address")
        return host, ipaddress.IPv4Address(host)
    if not all(_LABEL.match(label) for label in labels):
        raise UrlInvalidError("invalid host name")
    return host, None


def parse_url(url: str, settings: MediaSettings) -> ParsedUrl:
    """Parse and check `url` against the scheme, port and host-name policy.

    Raises UrlInvalidError, SchemeForbiddenError, PortForbiddenError or UrlForbiddenError.
    """
    if not isinstance(url, str) or not url:
        raise UrlInvalidError("empty URL")
    if len(url) > settings.max_url_length:
        raise UrlInvalidError("URL too long")
    if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in url) or "\\" in url:
        raise UrlInvalidError("URL contains whitespace, control, backslash or non-ASCII characters")
    scheme_match = _SCHEME.match(url)
    if scheme_match is None:
        raise UrlInvalidError("URL needs a scheme and an authority")
    scheme = scheme_match.group(1).lower()
    # A scheme without "//" (data:, javascript:, mailto:) is still a scheme we refuse, not a syntax error.
    if scheme not in _DEFAULT_PORTS:
        raise SchemeForbiddenError(f"scheme {scheme!r} is not allowed")
    if not url[scheme_match.end() :].startswith("//"):
        raise UrlInvalidError("URL needs a scheme and an authority")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlInvalidError("malformed URL") from exc
    netloc = parts.netloc
    if "@" in netloc:
        raise UrlInvalidError("credentials in URLs are not allowed")
    raw_host = netloc
    if raw_host.startswith("["):
        raw_host = raw_host[: raw_host.find("]") + 1]
    elif ":" in raw_host:
        raw_host = raw_host.rsplit(":", 1)[0]
    if netloc.endswith(":"):
        raise UrlInvalidError("empty port")
    host, ip_literal = _parse_host(raw_host)
    port = port if port is not None else _DEFAULT_PORTS[scheme]
    if port not in settings.allowed_ports:
        raise PortForbiddenError(f"port {port} is not allowed")
    if ip_literal is None:
        if any(_host_matches(host, p) for p in (*_BUILTIN_DENY, *settings.host_denylist)):
            raise UrlForbiddenError("host is deny-listed")
        if settings.host_allowlist and not any(_host_matches(host, p) for p in settings.host_allowlist):
            raise UrlForbiddenError("host is not on the allow-list")
    elif settings.host_allowlist and not any(_host_matches(host, p) for p in settings.host_allowlist):
        raise UrlForbiddenError("host is not on the allow-list")
    target = parts.path or "/"
    if not target.startswith("/"):
        raise UrlInvalidError("malformed path")
    if _ENCODED_CONTROL.search(parts.path) or _ENCODED_CONTROL.search(parts.query):
        # Decoded by the origin or a proxy, these split headers or truncate paths (%0d%0a, %00).
        raise UrlInvalidError("URL contains a percent-encoded control character")
    if parts.query:
        target = f"{target}?{parts.query}"
    return ParsedUrl(url=url, scheme=scheme, host=host, port=port, target=target, ip_literal=ip_literal)
