"""SSRF: for forbidden targets no connection is even attempted; a listener on the address sees nothing."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.errors import ServiceError
from service.media import MediaIngestor, MediaSettings


def _listener(family: int, host: str) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.listen(8)
    sock.setblocking(False)
    return sock


@pytest.fixture()
def listeners() -> Iterator[dict[str, socket.socket]]:
    socks = {"v4": _listener(socket.AF_INET, "127.0.0.1"), "v4b": _listener(socket.AF_INET, "127.0.0.2")}
    # Without an IPv6 loopback in the sandbox the IPv4 cases still run.
    with contextlib.suppress(OSError):
        socks["v6"] = _listener(socket.AF_INET6, "::1")
    yield socks
    for s in socks.values():
        s.close()


def _nothing_connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


async def test_forbidden_targets_are_never_contacted(
    tmp_path: Path, listeners: dict[str, socket.socket]
) -> None:
    p4 = listeners["v4"].getsockname()[1]
    p4b = listeners["v4b"].getsockname()[1]
    urls = [
        f"http://127.0.0.1:{p4}/",
        f"http://0.0.0.0:{p4}/",
        f"http://[::ffff:127.0.0.1]:{p4}/",
        f"http://[::ffff:7f00:1]:{p4}/",
        f"http://localhost:{p4}/",
        f"http://127.1:{p4}/",
        f"http://2130706433:{p4}/",
        f"http://127.0.0.2:{p4b}/",
    ]
    if "v6" in listeners:
        p6 = listeners["v6"].getsockname()[1]
        urls += [f"http://[::1]:{p6}/", f"http://[::]:{p6}/"]
    ports = frozenset(s.getsockname()[1] for s in listeners.values())
    async with MediaIngestor(MediaSettings(temp_dir=tmp_path, allowed_ports=ports)) as ing:
        for url in urls:
            with pytest.raises(ServiceError) as err:
                await ing.fetch_url(url)
            assert err.value.code in {"url_forbidden", "url_invalid"}, url
    for name, sock in listeners.items():
        assert _nothing_connected(sock), name
