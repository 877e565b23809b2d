"""A real HTTP/1.1 origin on loopback with misbehaving routes, and a real CONNECT egress proxy."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field

BODY = bytes(range(256)) * 64  # 16 KiB


@dataclass
class Origin:
    """Routes: /video, /redirect/<n>, /to?<absolute url>, /slow-head, /drip, /endless-chunked,
    /endless-close, /lying-length, /huge-length, /gzip, /status/<code>."""

    host: str = "127.0.0.1"
    tls: ssl.SSLContext | None = None
    requests: list[tuple[str, str]] = field(default_factory=list)  # (target, Host header)
    port: int = 0
    open_connections: int = 0  # handlers still running: a client that went away ends its handler
    _server: asyncio.Server | None = None

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    async def __aenter__(self) -> Origin:
        self._server = await asyncio.start_server(self._handle, self.host, 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            target = head.split(" ", 2)[1]
            host = next(
                (ln.split(":", 1)[1].strip() for ln in head.split("\r\n") if ln.lower().startswith("host:")),
                "",
            )
            self.requests.append((target, host))
            await self._route(target, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self.open_connections -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _route(self, target: str, w: asyncio.StreamWriter) -> None:
        def send(status: str, headers: dict[str, str], body: bytes = b"") -> None:
            lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
            w.write("\r\n".join(lines).encode("latin-1") + body)

        if target == "/video":
            send("200 OK", {"Content-Length": str(len(BODY)), "Content-Type": "video/mp4"}, BODY)
        elif target.startswith("/redirect/"):
            n = int(target.rsplit("/", 1)[1])
            send(
                "302 Found", {"Location": f"/redirect/{n - 1}" if n > 1 else "/video", "Content-Length": "0"}
            )
        elif target.startswith("/to?"):
            send("307 Temporary Redirect", {"Location": target[4:], "Content-Length": "0"})
        elif target == "/slow-head":
            await asyncio.sleep(30)
        elif target == "/drip":
            send("200 OK", {"Content-Length": "1000000"})
            for _ in range(300):
                w.write(b"x")
                await w.drain()
                await asyncio.sleep(0.1)
        elif target == "/endless-chunked":
            send("200 OK", {"Transfer-Encoding": "chunked"})
            chunk = b"y" * 65536
            while True:
                w.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await w.drain()
        elif target == "/endless-close":
            send("200 OK", {"Connection": "close"})
            while True:
                w.write(b"z" * 65536)
                await w.drain()
        elif target == "/lying-length":
            send("200 OK", {"Content-Length": "100"}, b"a" * 1_000_000)
        elif target == "/huge-length":
            send("200 OK", {"Content-Length": str(10**12)}, b"b" * 1000)
        elif target == "/gzip":
            send("200 OK", {"Content-Length": str(len(BODY)), "Content-Encoding": "gzip"}, BODY)
        elif target.startswith("/status/"):
            send(f"{target.rsplit('/', 1)[1]} Status", {"Content-Length": "0"})
        else:
            send("404 Not Found", {"Content-Length": "0"})
        await w.drain()


@dataclass
class ConnectProxy:
    """An HTTP CONNECT proxy on loopback that records which authority each tunnel was asked for."""

    tunnels: list[str] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> ConnectProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            authority = head.split(" ", 2)[1]
            self.tunnels.append(authority)
            host, port = authority.rsplit(":", 1)
            up_r, up_w = await asyncio.open_connection(host.strip("[]"), int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

            async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
                with contextlib.suppress(ConnectionError):
                    while data := await src.read(65536):
                        dst.write(data)
                        await dst.drain()
                dst.close()

            await asyncio.gather(pump(reader, up_w), pump(up_r, writer))
        except (ConnectionError, asyncio.IncompleteReadError):
            writer.close()
