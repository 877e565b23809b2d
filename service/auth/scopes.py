"""Which scope each route and RPC needs. One table per door, so a new route is refused until it is named.

`None` means any valid key will do (model metadata). StreamEmbed carries videos and texts in one stream and
is checked at the door before any item is read, so it needs the `video` scope.
"""

from __future__ import annotations

from service.auth.keys import Scope

_HTTP_PREFIXES: tuple[tuple[str, Scope | None], ...] = (
    ("/v1/embed/video", Scope.VIDEO),
    ("/v1/embed/text", Scope.TEXT),
    ("/v1/embeddings", Scope.TEXT),
    ("/v1/jobs", Scope.JOBS),
    ("/v1/admin", Scope.ADMIN),
    ("/v1/models", None),
)

_GRPC_METHODS: dict[str, Scope | None] = {
    "/videoprism.v1.EmbeddingService/EmbedVideo": Scope.VIDEO,
    "/videoprism.v1.EmbeddingService/UploadVideo": Scope.VIDEO,
    "/videoprism.v1.EmbeddingService/StreamEmbed": Scope.VIDEO,
    "/videoprism.v1.EmbeddingService/EmbedVideoSegments": Scope.VIDEO,
    "/videoprism.v1.EmbeddingService/EmbedText": Scope.TEXT,
    "/videoprism.v1.EmbeddingService/GetModelInfo": None,
}


def http_scope(path: str) -> Scope | None:
    """The scope of a `/v1/` path; unknown paths need `admin`, so nothing new is open by accident."""
    for prefix, scope in _HTTP_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return scope
    return Scope.ADMIN


def grpc_scope(method: str) -> Scope | None:
    """The scope of a `/videoprism.v1.*` method; a method missing from the table needs `admin`."""
    return _GRPC_METHODS.get(method, Scope.ADMIN)
