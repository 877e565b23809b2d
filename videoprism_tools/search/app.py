"""The search web app: the page, `GET /api/search?q=&k=` (text → embedding through the service or the
in-process engine → index) and the thumbnails."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Query
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from videoprism_client import VideoPrismError
from videoprism_tools.embed.engines import AsyncEmbedder
from videoprism_tools.search.index import SearchIndex
from videoprism_tools.search.page import PAGE


def create_search_app(index: SearchIndex, open_embedder: Callable[[], Awaitable[AsyncEmbedder]]) -> FastAPI:
    """`open_embedder` runs inside the server's event loop: the in-process engine's batchers belong to it."""
    holder: list[AsyncEmbedder] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        holder.append(await open_embedder())
        try:
            yield
        finally:
            await holder.pop().close()

    app = FastAPI(title="VideoPrism search", lifespan=lifespan)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE

    @app.get("/api/search", response_model=None)
    async def search(
        q: Annotated[str, Query(min_length=1, max_length=1000)],
        k: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> dict[str, Any] | JSONResponse:
        try:
            result = (await holder[0].embed_texts([q])).results[0]
        except VideoPrismError as error:
            return JSONResponse({"error": {"code": error.code, "message": error.message}}, status_code=502)
        if result.embedding is None:
            error_body = {
                "code": result.error.code if result.error else "internal",
                "message": str(result.error),
            }
            return JSONResponse({"error": error_body}, status_code=400)
        hits = index.search(result.embedding, k)
        return {
            "query": q,
            "hits": [
                {
                    "row": h.row,
                    "id": h.id,
                    "source": h.source,
                    "segment_start": h.segment_start,
                    "segment_end": h.segment_end,
                    "score": h.score,
                    "thumbnail": f"/thumbs/{h.row}.jpg" if index.thumbnail(h.row) else None,
                }
                for h in hits
            ],
        }

    @app.get("/thumbs/{row}.jpg", response_model=None)
    async def thumbnail(row: int) -> Response:
        path = index.thumbnail(row)
        if path is None:
            return JSONResponse({"error": {"code": "not_found", "message": "no thumbnail"}}, status_code=404)
        return FileResponse(path, media_type="image/jpeg")

    return app
