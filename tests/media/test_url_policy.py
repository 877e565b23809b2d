"""URL syntax and address policy, checked without any network."""

from __future__ import annotations

import ipaddress

import pytest

from service.errors import ServiceError
from service.media import MediaSettings
from service.media.address_policy import forbidden_reason
from service.media.url_policy import parse_url

SETTINGS = MediaSettings(host_denylist=("blocked.example.com", ".evil.example"))


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("", "url_invalid"),
        ("example.com/video.mp4", "url_invalid"),
        ("ftp://example.com/a", "scheme_forbidden"),
        ("file:///etc/passwd", "scheme_forbidden"),
        ("gopher://example.com/", "scheme_forbidden"),
        ("http://example.com:8080/a", "port_forbidden"),
        ("http://example.com:0/a", "port_forbidden"),
        ("http://example.com:99999/a", "url_invalid"),
        ("http://example.com:/a", "url_invalid"),
        ("http://user:pw@example.com/a", "url_invalid"),
        ("http://example.com@127.0.0.1/a", "url_invalid"),
        ("http://exa mple.com/a", "url_invalid"),
        ("http://example.com/a b", "url_invalid"),
        ("http://example.com/\ta", "url_invalid"),
        ("http://example.com/\x00", "url_invalid"),
        ("http://example.com\\@evil.com/", "url_invalid"),
        ("http://exämple.com/", "url_invalid"),
        ("http://127.1/", "url_invalid"),
        ("http://2130706433/", "url_invalid"),
        ("http://0x7f000001/", "url_invalid"),
        ("http://0177.0.0.1/", "url_invalid"),
        ("http://127.000.000.001/", "url_invalid"),
        ("http://[::1%25lo]/", "url_invalid"),
        ("http://[::1/", "url_invalid"),
        ("http://-bad-.example.com/", "url_invalid"),
        ("http://" + "a" * 2100 + ".com/", "url_invalid"),
        ("http://localhost/", "url_forbidden"),
        ("http://LOCALHOST./", "url_forbidden"),
        ("http://foo.localhost/", "url_forbidden"),
        ("http://metadata.google.internal/computeMetadata/v1/", "url_forbidden"),
        ("http://metadata/", "url_forbidden"),
        ("http://blocked.example.com/", "url_forbidden"),
        ("http://a.evil.example/", "url_forbidden"),
        ("http://example.com/a%00.mp4", "url_invalid"),
        ("http://example.com/a%0d%0aX-Injected:%201", "url_invalid"),
        ("http://example.com/a%0A", "url_invalid"),
        ("http://example.com/a%1f", "url_invalid"),
        ("http://example.com/a%7F", "url_invalid"),
        ("http://example.com/a.mp4?x=%09", "url_invalid"),
        ("http://example.com/a.mp4?sig=%1B", "url_invalid"),
        ("data:video/mp4;base64,AAAA", "scheme_forbidden"),
        ("DATA:,hello", "scheme_forbidden"),
        ("javascript:alert(1)", "scheme_forbidden"),
        ("http:example.com/a", "url_invalid"),
        ("1http://example.com/", "url_invalid"),
    ],
)
def test_rejected_urls(url: str, code: str) -> None:
    with pytest.raises(ServiceError) as err:
        parse_url(url, SETTINGS)
    assert err.value.code == code


@pytest.mark.parametrize(
    "url",
    ["http://example.com/a%20b.mp4", "http://example.com/%2500.mp4", "http://example.com/v.mp4?q=%7E%20%80"],
)
def test_printable_escapes_stay_allowed(url: str) -> None:
    assert parse_url(url, SETTINGS).target == url.removeprefix("http://example.com")


def test_accepted_url_keeps_path_query_and_host_header() -> None:
    parsed = parse_url("HTTPS://Media.Example.com/v/a.mp4?sig=1#frag", SETTINGS)
    assert (parsed.scheme, parsed.host, parsed.port, parsed.target) == (
        "https",
        "media.example.com",
        443,
        "/v/a.mp4?sig=1",
    )
    assert parsed.host_header == "media.example.com"
    v6 = parse_url("http://[2606:4700::1]/x", SETTINGS)
    assert v6.ip_literal == ipaddress.ip_address("2606:4700::1") and v6.host_header == "[2606:4700::1]"


def test_allowlist_limits_hosts() -> None:
    settings = MediaSettings(host_allowlist=(".cdn.example.com",))
    assert parse_url("https://v.cdn.example.com/a", settings).host == "v.cdn.example.com"
    with pytest.raises(ServiceError) as err:
        parse_url("https://other.example.com/a", settings)
    assert err.value.code == "url_forbidden"


@pytest.mark.parametrize(
    "addr",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "100.100.100.200", "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.0.192",
        "198.18.0.1", "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1", "fec0::1",
        "::ffff:127.0.0.1", "::ffff:8.8.8.8", "::127.0.0.1", "64:ff9b::a00:1", "64:ff9b::7f00:1",
        "2002:7f00:1::", "2002:a9fe:a9fe::", "2001:0:4136:e378:8000:63bf:80ff:fffe",
    ],
)  # fmt: skip
def test_forbidden_addresses(addr: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(addr)) is not None


@pytest.mark.parametrize("addr", ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "2a00:1450:4001::200e"])
def test_public_addresses_are_allowed(addr: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(addr)) is None


def test_explicit_allow_entry_overrides_the_policy() -> None:
    allow = (ipaddress.ip_network("127.0.0.1/32"),)
    assert forbidden_reason(ipaddress.ip_address("127.0.0.1"), allow) is None
    assert forbidden_reason(ipaddress.ip_address("127.0.0.2"), allow) is not None


def test_banned_demuxers_cannot_be_configured() -> None:
    with pytest.raises(ValueError, match="hls"):
        MediaSettings(allowed_formats=("mov,mp4", "hls"))
    assert "hls" not in MediaSettings().format_whitelist.split(",")
