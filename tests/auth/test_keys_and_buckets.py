"""The pure parts of auth: the key-file format, scope checks, and token-bucket arithmetic (local buckets;
the Redis script is exercised against a real Redis in tests/api/test_rate_limits.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from service.auth.buckets import LocalBuckets
from service.auth.keys import ALL_SCOPES, KeyStore, Scope, parse_key_file
from service.auth.scopes import grpc_scope, http_scope
from service.errors import PermissionDeniedError, UnauthenticatedError


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def test_key_file_lines_and_errors() -> None:
    text = f"# comment\n\nsha256:{_hash('a')} scopes=video,text name=app  # trailing\nsha256:{_hash('b')}\n"
    first, second = parse_key_file(text)
    assert first.principal.key_id == "app" and first.principal.scopes == {Scope.VIDEO, Scope.TEXT}
    assert second.principal.scopes == frozenset() and second.principal.key_id == _hash("b")[:12]
    for bad in ("md5:abc", f"sha256:{_hash('a')} scopes=videos", f"sha256:{_hash('a')} colour=red"):
        with pytest.raises(ValueError, match="line 1"):
            parse_key_file(bad)


def test_store_matches_hashes_and_checks_scopes(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"sha256:{_hash('text-key')} scopes=text\n")
    store = KeyStore(["plain-key"], path)
    assert store.authenticate("Bearer plain-key").scopes == ALL_SCOPES
    text_only = store.authenticate("bearer text-key")
    text_only.require(Scope.TEXT)
    text_only.require(None)
    with pytest.raises(PermissionDeniedError):
        text_only.require(Scope.VIDEO)
    for header in (None, "Basic text-key", "Bearer ", "Bearer other"):
        with pytest.raises(UnauthenticatedError):
            store.authenticate(header)
    assert not KeyStore([]).enabled and KeyStore([]).authenticate(None).scopes == ALL_SCOPES


def test_every_route_and_rpc_has_a_scope() -> None:
    assert http_scope("/v1/embed/video/upload") is Scope.VIDEO
    assert http_scope("/v1/embeddings") is Scope.TEXT
    assert http_scope("/v1/jobs/123") is Scope.JOBS
    assert http_scope("/v1/models/videoprism") is None
    assert http_scope("/v1/embeddingsx") is Scope.ADMIN  # a prefix is not a match
    assert grpc_scope("/videoprism.v1.EmbeddingService/StreamEmbed") is Scope.VIDEO
    assert grpc_scope("/videoprism.v1.Unknown/Thing") is Scope.ADMIN


def test_local_bucket_admits_its_capacity_then_says_how_long_to_wait() -> None:
    buckets = LocalBuckets()
    assert [buckets.take("k", rate=1.0, capacity=2.0, cost=1.0) for _ in range(2)] == [0.0, 0.0]
    wait = buckets.take("k", rate=1.0, capacity=2.0, cost=1.0)
    assert 0.9 < wait <= 1.0
    assert buckets.take("other", rate=1.0, capacity=2.0, cost=1.0) == 0.0  # keys are independent


def test_a_forced_charge_leaves_a_debt() -> None:
    buckets = LocalBuckets()
    assert buckets.take("clip", rate=1.0, capacity=1.0, cost=3.0, force=True) == 0.0
    wait = buckets.take("clip", rate=1.0, capacity=1.0, cost=0.0)
    assert 1.9 < wait <= 2.0  # two seconds of debt before a zero-cost check passes
