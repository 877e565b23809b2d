"""The search page in headless Chromium: index a small set of generated videos, type a query, and check
that the page shows, first, exactly the video a brute-force cosine search over the Parquet output ranks
first for that query's embedding, with its thumbnail and score.

The demo bundle has random weights, so no caption is "right"; the expected top hit is computed
independently (numpy over the embeddings file, not the usearch index) from the same service.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import uvicorn

from tests.api.server_thread import ServerThread
from videoprism_client import HttpClient, connect_async
from videoprism_tools.embed.cli import main as embed_main
from videoprism_tools.embed.output import read_table
from videoprism_tools.search.app import create_search_app
from videoprism_tools.search.index import SearchIndex, build_index

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
QUERIES = ("colour bars on a screen", "a fractal zoom", "a test card with a counter")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def search_page(service: ServerThread, video_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    tuple[str, Path]
]:  # fmt: skip
    out = tmp_path_factory.mktemp("search") / "embeddings"
    embed_main([str(video_folder), "-o", str(out), "--server", service.http_url, "--no-progress"])
    build_index(out, out / "index")
    app = create_search_app(SearchIndex(out / "index"), lambda: _opened(service.http_url))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "search server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}", out
    server.should_exit = True
    thread.join(10)


async def _opened(url: str):  # type: ignore[no-untyped-def]
    return connect_async(url)


def _expected_top(service: ServerThread, out: Path, query: str) -> tuple[str, float]:
    table = read_table(out)
    vectors = np.stack(table.column("vector").to_numpy(zero_copy_only=False))
    with HttpClient(service.http_url) as client:
        q = client.embed_texts([query]).results[0].embedding
    assert q is not None
    scores = vectors @ q / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(q))
    best = int(np.argmax(scores))
    return str(table.column("id")[best]), float(scores[best])


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (make system-deps)")
def test_typed_query_shows_the_top_result(service: ServerThread, search_page: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    url, out = search_page
    expected = {q: _expected_top(service, out, q) for q in QUERIES}
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page()
            page.goto(url + "/")
            for query, (top_id, top_score) in expected.items():
                page.fill("#query", query)
                page.press("#query", "Enter")
                page.wait_for_function(
                    "q => document.querySelector('#results li') && document.getElementById('status')"
                    ".textContent.endsWith('results') && document.getElementById('query').value === q",
                    arg=query,
                )
                first = page.locator("#results li.result").first
                assert first.get_attribute("data-id") == top_id, query
                assert first.get_attribute("data-rank") == "1"
                assert float(first.locator(".score").inner_text()) == pytest.approx(top_score, abs=2e-4)
                assert page.locator("#results li.result").count() == 4  # every indexed video, ranked
                # The thumbnail is a real image the browser decoded.
                first.locator("img").evaluate("img => img.decode()")
                assert first.locator("img").evaluate("img => img.naturalWidth") == 160
        finally:
            browser.close()
