"""Picks the transport from the address: http(s):// → HTTP, grpc(s)://host:port → gRPC."""

from __future__ import annotations

from videoprism_client.grpc_client import AsyncGrpcClient, GrpcClient
from videoprism_client.http_client import AsyncHttpClient, HttpClient
from videoprism_client.retry import RetryPolicy

AnyClient = HttpClient | GrpcClient
AnyAsyncClient = AsyncHttpClient | AsyncGrpcClient


def _is_grpc(address: str) -> bool:
    if address.startswith(("grpc://", "grpcs://")):
        return True
    if address.startswith(("http://", "https://")):
        return False
    raise ValueError(f"address must start with http://, https://, grpc:// or grpcs://: {address!r}")


def connect(
    address: str,
    *,
    api_key: str | None = None,
    timeout_s: float | None = 120.0,
    retry: RetryPolicy | None = None,
) -> AnyClient:
    if _is_grpc(address):
        return GrpcClient(address, api_key=api_key, timeout_s=timeout_s, retry=retry)
    return HttpClient(address, api_key=api_key, timeout_s=timeout_s, retry=retry)


def connect_async(
    address: str,
    *,
    api_key: str | None = None,
    timeout_s: float | None = 120.0,
    retry: RetryPolicy | None = None,
) -> AnyAsyncClient:
    if _is_grpc(address):
        return AsyncGrpcClient(address, api_key=api_key, timeout_s=timeout_s, retry=retry)
    return AsyncHttpClient(address, api_key=api_key, timeout_s=timeout_s, retry=retry)
