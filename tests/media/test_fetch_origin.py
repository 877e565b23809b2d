"""Fetching from a real loopback origin through an explicit test-only allow entry."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import ssl
from pathlib import Path
from typing import Any

import pytest

from service.errors import ServiceError
from service.media import MediaIngestor, MediaSettings
from service.media.address_policy import IPAddress
from tests.media.origin_server import BODY, ConnectProxy, Origin
from tests.media.tls_certs import Pki, make_pki


def loopback(tmp_path: Path, *ports: int, **overrides: Any) -> MediaSettings:
    return MediaSettings(
        temp_dir=tmp_path,
        allow_networks=(ipaddress.ip_network("127.0.0.1/32"),),
        allowed_ports=frozenset({80, 443, *ports}),
        **overrides,
    )


async def code_of(ingestor: MediaIngestor, url: str) -> str:
    with pytest.raises(ServiceError) as err:
        await ingestor.fetch_url(url)
    return err.value.code


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


async def test_default_settings_refuse_the_loopback_origin(tmp_path: Path) -> None:
    async with Origin() as origin:
        settings = MediaSettings(temp_dir=tmp_path, allowed_ports=frozenset({origin.port}))
        async with MediaIngestor(settings) as ing:
            assert await code_of(ing, f"{origin.base}/video") == "url_forbidden"
        assert origin.requests == []


async def test_fetch_writes_body_and_sha256(tmp_path: Path) -> None:
    async with Origin() as origin, MediaIngestor(loopback(tmp_path, origin.port)) as ing:
        media = await ing.fetch_url(f"{origin.base}/video")
        assert media.path.read_bytes() == BODY
        assert media.sha256 == hashlib.sha256(BODY).hexdigest()
        assert media.size_bytes == len(BODY)
        ing.release(media)
        assert not media.path.exists()


async def test_redirect_chain_up_to_the_limit(tmp_path: Path) -> None:
    async with Origin() as origin, MediaIngestor(loopback(tmp_path, origin.port)) as ing:
        media = await ing.fetch_url(f"{origin.base}/redirect/3")
        assert media.sha256 == hashlib.sha256(BODY).hexdigest()
        assert await code_of(ing, f"{origin.base}/redirect/4") == "too_many_redirects"


async def test_redirect_to_a_forbidden_address_never_connects(tmp_path: Path) -> None:
    # 127.0.0.2 is loopback too but not on the allow entry: a listener there must see nothing.
    hits: list[int] = []
    trap = await asyncio.start_server(lambda r, w: hits.append(1), "127.0.0.2", 0)
    trap_port = trap.sockets[0].getsockname()[1]
    try:
        async with Origin() as origin, MediaIngestor(loopback(tmp_path, origin.port, trap_port)) as ing:
            code = await code_of(ing, f"{origin.base}/to?http://127.0.0.2:{trap_port}/video")
            assert code == "redirect_forbidden"
            assert await code_of(ing, f"{origin.base}/to?ftp://example.com/x") == "redirect_forbidden"
            assert await code_of(ing, f"{origin.base}/to?http://127.0.0.1:1/x") == "redirect_forbidden"
        await asyncio.sleep(0.05)
        assert hits == []
    finally:
        trap.close()


@pytest.mark.parametrize(
    ("route", "code", "overrides"),
    [
        ("/slow-head", "download_timeout", {"first_byte_timeout_s": 0.3}),
        ("/drip", "download_timeout", {"total_timeout_s": 0.5}),
        ("/endless-chunked", "download_too_large", {"max_bytes": 300_000}),
        ("/endless-close", "download_too_large", {"max_bytes": 300_000}),
        ("/huge-length", "download_too_large", {}),
        ("/status/404", "fetch_failed", {}),
        ("/status/500", "fetch_failed", {}),
    ],
)
async def test_misbehaving_origins(tmp_path: Path, route: str, code: str, overrides: dict[str, Any]) -> None:
    async with Origin() as origin, MediaIngestor(loopback(tmp_path, origin.port, **overrides)) as ing:
        assert await code_of(ing, f"{origin.base}{route}") == code
        assert list(ing.temp_dir.iterdir()) == []  # partial bodies are removed


async def test_lying_content_length_reads_only_what_was_declared(tmp_path: Path) -> None:
    async with Origin() as origin, MediaIngestor(loopback(tmp_path, origin.port, max_bytes=1000)) as ing:
        media = await ing.fetch_url(f"{origin.base}/lying-length")
        assert media.size_bytes == 100


async def test_compressed_bodies_are_kept_as_sent(tmp_path: Path) -> None:
    async with Origin() as origin, MediaIngestor(loopback(tmp_path, origin.port)) as ing:
        media = await ing.fetch_url(f"{origin.base}/gzip")
        assert media.path.read_bytes() == BODY
        assert origin.requests[-1][0] == "/gzip"


async def test_connection_refused_is_fetch_failed(tmp_path: Path) -> None:
    async with Origin() as origin:
        port = origin.port
    async with MediaIngestor(loopback(tmp_path, port)) as ing:
        assert await code_of(ing, f"http://127.0.0.1:{port}/video") == "fetch_failed"


class FixedResolver:
    """Injects DNS answers (a rebinding attacker's or a test name's); counts lookups."""

    def __init__(self, answers: list[IPAddress]) -> None:
        self.answers = answers
        self.calls = 0

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.calls += 1
        return self.answers


async def test_connects_to_the_validated_address_with_the_original_host(tmp_path: Path) -> None:
    resolver = FixedResolver([ipaddress.ip_address("127.0.0.1")])
    async with Origin() as origin, MediaIngestor(loopback(tmp_path, origin.port), resolver) as ing:
        await ing.fetch_url(f"http://media.example.com:{origin.port}/redirect/2")
        assert resolver.calls == 3  # one lookup per hop, never a second one for the same connection
        assert {host for _, host in origin.requests} == {f"media.example.com:{origin.port}"}


async def test_any_forbidden_answer_rejects_the_name(tmp_path: Path) -> None:
    hits: list[int] = []
    trap = await asyncio.start_server(lambda r, w: hits.append(1), "127.0.0.1", 0)
    port = trap.sockets[0].getsockname()[1]
    try:
        resolver = FixedResolver([ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("127.0.0.1")])
        settings = MediaSettings(temp_dir=tmp_path, allowed_ports=frozenset({port}))
        async with MediaIngestor(settings, resolver) as ing:
            assert await code_of(ing, f"http://rebind.example.com:{port}/") == "url_forbidden"
        await asyncio.sleep(0.05)
        assert hits == []
    finally:
        trap.close()


async def test_https_verifies_the_certificate(tmp_path: Path, pki: Pki) -> None:
    async with Origin(tls=server_tls(pki.good_cert, pki.good_key)) as origin:
        settings = loopback(tmp_path, origin.port, ca_bundle=pki.ca)
        async with MediaIngestor(settings) as ing:
            media = await ing.fetch_url(f"{origin.base}/video")
            assert media.sha256 == hashlib.sha256(BODY).hexdigest()
            assert (
                await code_of(ing, f"{origin.base}/to?http://127.0.0.1:{origin.port}/video")
                == "redirect_forbidden"
            )
        async with MediaIngestor(loopback(tmp_path, origin.port)) as untrusting:
            assert await code_of(untrusting, f"{origin.base}/video") == "fetch_failed"


async def test_https_rejects_a_certificate_for_another_name(tmp_path: Path, pki: Pki) -> None:
    async with (
        Origin(tls=server_tls(pki.wrong_cert, pki.wrong_key)) as origin,
        MediaIngestor(loopback(tmp_path, origin.port, ca_bundle=pki.ca)) as ing,
    ):
        assert await code_of(ing, f"{origin.base}/video") == "fetch_failed"


async def test_egress_proxy_tunnels_to_the_validated_ip(tmp_path: Path, pki: Pki) -> None:
    resolver = FixedResolver([ipaddress.ip_address("127.0.0.1")])
    async with ConnectProxy() as proxy, Origin() as origin:
        settings = loopback(tmp_path, origin.port, egress_proxy=f"http://127.0.0.1:{proxy.port}")
        async with MediaIngestor(settings, resolver) as ing:
            media = await ing.fetch_url(f"http://media.example.com:{origin.port}/video")
            assert media.size_bytes == len(BODY)
        assert proxy.tunnels == [f"127.0.0.1:{origin.port}"]
        assert origin.requests == [("/video", f"media.example.com:{origin.port}")]
    async with ConnectProxy() as proxy, Origin(tls=server_tls(pki.good_cert, pki.good_key)) as origin:
        settings = loopback(
            tmp_path, origin.port, egress_proxy=f"http://127.0.0.1:{proxy.port}", ca_bundle=pki.ca
        )
        async with MediaIngestor(settings) as ing:
            media = await ing.fetch_url(f"{origin.base}/video")
            assert media.size_bytes == len(BODY)
        assert proxy.tunnels == [f"127.0.0.1:{origin.port}"]
