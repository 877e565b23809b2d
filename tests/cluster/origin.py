"""Loopback media origins: `LoopbackOrigin` answers a payload as video/mp4 once its hook returns, and
`HeldOrigin` holds each download until the test releases it, so a replica can be kept busy with an admitted
request for exactly as long as a test needs (no sleeps, no timing guesses)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable


class LoopbackOrigin:
    """Serves `payload` to every GET (only to `path` when given; anything else gets a 404), each answer
    sent once `before_answer()` returns. Handler threads are daemons, so a stuck download never blocks
    the test's exit."""

    def __init__(
        self, payload: bytes, before_answer: Callable[[], object] = lambda: None, path: str | None = None
    ) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if path is not None and self.path != path:
                    self.send_error(404)
                    return
                before_answer()
                self.send_response(200)
                self.send_header("content-type", "video/mp4")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}.mp4"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class HeldOrigin(LoopbackOrigin):
    def __init__(self, payload: bytes) -> None:
        self.requested = threading.Event()  # a replica has started downloading
        self.release = threading.Event()  # the test lets the download finish
        super().__init__(payload, self._hold)

    def _hold(self) -> None:
        self.requested.set()
        self.release.wait(120)

    def close(self) -> None:
        self.release.set()
        super().close()
